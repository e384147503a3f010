#include "snapshot/manifest_check.hpp"

#include <cstdio>
#include <set>

#include "enmap/error.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/store.hpp"

namespace snapshot {

namespace {

bool hex64(const nlohmann::json& v) {
    if (!v.is_string()) {
        return false;
    }
    const auto& s = v.get_ref<const std::string&>();
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string shown(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\x%02x", c);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    return out;
}

}  // namespace

bool plain_file_name(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name.find('\0') == std::string::npos && printable_text(name);
}

bool printable_text(const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
        // C1 controls in UTF-8: U+0080..U+009F are C2 80..C2 9F.
        if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
            static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            return false;
        }
    }
    return true;
}

void check_manifest(const nlohmann::json& m, const std::string& where) {
    auto fail = [&](const std::string& what) {
        throw enmap::InputError(where + ": " + what,
                                "the manifest is not one this tool wrote; nothing of it was imported");
    };
    if (!m.is_object()) {
        fail("not a JSON object");
    }
    if (!m.contains("format") || !m["format"].is_string() ||
        m["format"].get<std::string>() != k_manifest_format) {
        fail("\"format\" is not \"" + std::string(k_manifest_format) + "\"");
    }
    if (m.contains("kind") && !(m["kind"] == "exact" || m["kind"] == "live" || m["kind"] == "export")) {
        fail("\"kind\" must be \"exact\", \"live\" or \"export\"");
    }
    if (m.contains("label") && !m["label"].is_null()) {
        if (!m["label"].is_string()) {
            fail("\"label\" must be a string or null");
        }
        const auto& label = m["label"].get_ref<const std::string&>();
        if (!printable_text(label)) {
            fail("the label '" + shown(label) + "' holds control characters");
        }
        try {
            validate_label(label);
        } catch (const enmap::Error& e) {
            fail(std::string("\"label\": ") + e.what());
        }
    }
    for (const char* text : {"time", "host", "tool"}) {
        if (m.contains(text) && !(m[text].is_string() && printable_text(m[text].get<std::string>()))) {
            fail(std::string("\"") + text + "\" must be text without control characters");
        }
    }
    if (!m.contains("files") || !m["files"].is_array() || m["files"].empty()) {
        fail("\"files\" must be a non-empty array");
    }
    std::set<std::string> names;
    std::size_t index = 0;
    for (const auto& f : m["files"]) {
        std::string at = "files[" + std::to_string(index++) + "]";
        if (!f.is_object()) {
            fail(at + " is not an object");
        }
        if (!f.contains("name") || !f["name"].is_string()) {
            fail(at + ".name must be a string");
        }
        const auto& name = f["name"].get_ref<const std::string&>();
        if (!plain_file_name(name)) {
            fail(at + ".name '" + shown(name) + "' is not a plain file name");
        }
        if (!names.insert(name).second) {
            fail(at + ".name '" + name + "' appears twice");
        }
        if (!f.contains("role") || !(f["role"] == "database" || f["role"] == "wal" || f["role"] == "export" ||
                                     f["role"] == "journal")) {
            fail(at + ".role must be \"database\", \"wal\" or \"export\"");
        }
        if (!f.contains("size") || !f["size"].is_number_unsigned()) {
            fail(at + ".size must be an unsigned integer");
        }
        if (!f.contains("sha256") || !hex64(f["sha256"])) {
            fail(at + ".sha256 must be 64 lowercase hex digits");
        }
        if (f.contains("mode")) {
            const auto& mode = f["mode"];
            if (!mode.is_string() || mode.get<std::string>().empty() || mode.get<std::string>().size() > 4 ||
                mode.get<std::string>().find_first_not_of("01234567") != std::string::npos) {
                fail(at + ".mode " + mode.dump() + " is not an octal file mode such as \"0644\"");
            }
            unsigned long bits = std::stoul(mode.get<std::string>(), nullptr, 8);
            if ((bits & 07000) != 0) {
                fail(at + ".mode " + mode.get<std::string>() + " sets setuid, setgid or sticky bits");
            }
            if ((bits & 0002) != 0 && (bits & 0111) != 0) {
                fail(at + ".mode " + mode.get<std::string>() +
                     " makes the file executable and world-writable");
            }
        }
        if (!f.contains("content") || !f["content"].is_array()) {
            fail(at + ".content must be an array of chunk list ids");
        }
        for (const auto& id : f["content"]) {
            if (!hex64(id)) {
                fail(at + ".content holds " + id.dump().substr(0, 80) + ", not a 64-hex id");
            }
        }
        if (f.contains("chunking") && !f["chunking"].is_string()) {
            fail(at + ".chunking must be a string");
        }
    }
}

}  // namespace snapshot
