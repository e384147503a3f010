#pragma once
// snapshot/ checking a manifest that came from outside (an imported archive) before anything of
// it is written or read: its whole structure, plain file names, sane modes, sizes and labels.

#include <nlohmann/json.hpp>
#include <string>

namespace snapshot {

/// True for a name that stays in its folder: not empty, not "." or "..", no '/', no NUL.
bool plain_file_name(const std::string& name);

/// True when the text holds no control characters (C0, DEL or C1), so printing it is safe.
bool printable_text(const std::string& text);

/// Checks a manifest: format, a non-empty "files" array of objects with a plain, unique "name",
/// a known "role", an unsigned "size", a 64-hex "sha256", a "mode" of octal digits with no
/// setuid, setgid or sticky bit (nor
/// executable and world-writable at once), and a "content" array of 64-hex ids; a "label"
/// that is null or a valid label without control characters; "kind" exact, live or export.
/// Throws enmap::InputError starting with `where` and naming the field.
void check_manifest(const nlohmann::json& manifest, const std::string& where);

}  // namespace snapshot
