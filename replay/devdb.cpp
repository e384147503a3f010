#include "replay/devdb.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <vector>

#include "enmap/error.hpp"
#include "replay/process.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {

constexpr const char* k_database = "enmap_dev";
constexpr std::size_t k_max_socket_dir = 80;  // sun_path is 108 bytes with "/.s.PGSQL.NNNNN"

std::string find_server_bin() {
    if (const char* env = std::getenv("ENMAP_MIGRATE_PG_BIN"); env != nullptr && *env != '\0') {
        return fs::exists(fs::path(env) / "initdb") ? std::string(env) : std::string();
    }
    std::vector<fs::path> candidates;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        if (fs::exists(entry.path() / "bin" / "initdb") && fs::exists(entry.path() / "bin" / "pg_ctl")) {
            candidates.push_back(entry.path() / "bin");
        }
    }
    if (candidates.empty()) {
        return {};
    }
    std::sort(candidates.begin(), candidates.end(), [](const fs::path& a, const fs::path& b) {
        return std::stoi(a.parent_path().filename().string()) <
               std::stoi(b.parent_path().filename().string());
    });
    return candidates.back().string();
}

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw enmap::DatabaseError("dev database: cannot open a socket to find a free port");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    ::close(fd);
    if (port == 0 || port == 5432) {
        throw enmap::DatabaseError("dev database: no free loopback port");
    }
    return port;
}

std::string short_hash(const std::string& text) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
    std::ostringstream out;
    for (unsigned i = 0; i < 6; ++i) {
        out << std::hex << ((md[i] >> 4) & 0xF) << (md[i] & 0xF);
    }
    return out.str();
}

/// True when `user` can reach (search) `dir`.
bool reachable_by(const std::string& user, const fs::path& dir) {
    auto result = run_process({"/usr/bin/test", "-x", dir.string()}, user);
    return result.status == 0;
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

}  // namespace

DevDb::DevDb(fs::path folder) : m_folder(fs::absolute(std::move(folder)).lexically_normal()) {
    m_bin = find_server_bin();
    if (::geteuid() == 0) {
        m_owner = "postgres";
    }
}

fs::path DevDb::default_folder() {
    if (const char* env = std::getenv("ENMAP_MIGRATE_DEVDB"); env != nullptr && *env != '\0') {
        return env;
    }
    return project_root() / ".enmap-migrate" / "devdb";
}

fs::path project_root() {
    std::error_code ec;
    fs::path here = fs::current_path(ec);
    if (ec) {
        return fs::path(".");
    }
    for (fs::path dir = here;; dir = dir.parent_path()) {
        if (fs::is_directory(dir / ".enmap-migrate", ec) || fs::is_directory(dir / "enmap-snapshots", ec)) {
            return dir;
        }
        if (dir == dir.parent_path()) {
            return here;
        }
    }
}

fs::path default_store() {
    return project_root() / "enmap-snapshots";
}

fs::path saved_folder(const fs::path& store) {
    return store / "saved";
}

fs::path DevDb::data_dir() const {
    return m_folder / "data";
}

int DevDb::configured_port() const {
    std::string conf = read_text(data_dir() / "postgresql.auto.conf");
    std::regex re(R"(port\s*=\s*'?(\d+))");
    int port = 0;
    for (auto it = std::sregex_iterator(conf.begin(), conf.end(), re); it != std::sregex_iterator(); ++it) {
        port = std::stoi((*it)[1].str());
    }
    return port;
}

bool DevDb::running() const {
    if (m_bin.empty() || !fs::exists(data_dir() / "PG_VERSION")) {
        return false;
    }
    auto result = run_process({m_bin + "/pg_ctl", "-D", data_dir().string(), "status"}, m_owner);
    return result.status == 0;
}

void DevDb::set_port(int port) {
    // postgresql.auto.conf is the file ALTER SYSTEM writes; the last setting of a name wins.
    std::ofstream out(data_dir() / "postgresql.auto.conf", std::ios::app);
    out << "port = " << port << "\n";
}

void DevDb::initialize() {
    if (m_bin.empty()) {
        throw enmap::DatabaseError("dev database: no PostgreSQL server found under /usr/lib/postgresql",
                                   "install it with scripts/bootstrap (Debian's postgresql package)");
    }
    fs::create_directories(m_folder);
    fs::permissions(m_folder, fs::perms::owner_all, fs::perm_options::replace);
    fs::path real_dir = m_folder;
    if (!m_owner.empty()) {
        // As root, the server runs as postgres, which must reach the folder. Keep the cluster in
        // /var/lib when it cannot, or when the socket path would be too long, and link it here.
        ::chown(m_folder.c_str(), 0, 0);
        const passwd* pw = ::getpwnam(m_owner.c_str());
        if (pw == nullptr) {
            throw enmap::DatabaseError("dev database: there is no postgres user",
                                       "install PostgreSQL with scripts/bootstrap");
        }
        fs::path inside = m_folder / "cluster";
        fs::create_directories(inside);
        ::chown(inside.c_str(), pw->pw_uid, pw->pw_gid);
        fs::permissions(m_folder, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec,
                        fs::perm_options::replace);
        if (reachable_by(m_owner, inside) && inside.string().size() <= k_max_socket_dir) {
            real_dir = inside;
        } else {
            real_dir = fs::path("/var/lib/enmap-migrate") / ("devdb-" + short_hash(m_folder.string()));
            fs::create_directories(real_dir);
            fs::permissions(real_dir.parent_path(), fs::perms::owner_all | fs::perms::others_exec,
                            fs::perm_options::replace);
            ::chown(real_dir.c_str(), pw->pw_uid, pw->pw_gid);
            fs::permissions(real_dir, fs::perms::owner_all, fs::perm_options::replace);
            fs::remove(inside);
            spdlog::debug("dev database: cluster kept in {} (postgres cannot reach {})", real_dir.string(),
                          m_folder.string());
        }
    } else if (m_folder.string().size() > k_max_socket_dir) {
        real_dir = fs::path("/tmp") / ("enmap-migrate-devdb-" + std::to_string(::getuid()) + "-" +
                                       short_hash(m_folder.string()));
        fs::create_directories(real_dir);
        fs::permissions(real_dir, fs::perms::owner_all, fs::perm_options::replace);
    } else {
        real_dir = m_folder / "cluster";
        fs::create_directories(real_dir);
        fs::permissions(real_dir, fs::perms::owner_all, fs::perm_options::replace);
    }
    fs::path data = real_dir / "data";
    auto result = run_process({m_bin + "/initdb", "-D", data.string(), "-U", "postgres", "--auth=trust", "-E",
                               "UTF8", "--locale=C.UTF-8"},
                              m_owner);
    if (result.status != 0) {
        throw enmap::DatabaseError("dev database: initdb failed in " + data.string() + ":\n" + result.output);
    }
    std::ofstream conf(data / "postgresql.auto.conf", std::ios::app);
    conf << "# written by enmap-migrate devdb: a throwaway cluster for rehearsals\n"
         << "listen_addresses = '127.0.0.1'\n"
         << "unix_socket_directories = '" << real_dir.string() << "'\n"
         << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
         << "port = " << free_loopback_port() << "\n";
    conf.close();
    if (data != m_folder / "data" && !fs::exists(m_folder / "data")) {
        fs::create_directory_symlink(data, m_folder / "data");
    }
}

std::string DevDb::start() {
    if (m_bin.empty()) {
        throw enmap::DatabaseError("dev database: no PostgreSQL server found under /usr/lib/postgresql",
                                   "install it with scripts/bootstrap (Debian's postgresql package)");
    }
    if (!fs::exists(data_dir() / "PG_VERSION")) {
        spdlog::info("dev database: creating a private PostgreSQL cluster in {}", m_folder.string());
        initialize();
    }
    if (!running()) {
        fs::path log = fs::canonical(data_dir()).parent_path() / "server.log";
        std::string output;
        bool started = false;
        for (int attempt = 0; attempt < 5 && !started; ++attempt) {
            if (attempt > 0) {
                set_port(free_loopback_port());  // the recorded port was taken meanwhile
            }
            auto result = run_process(
                {m_bin + "/pg_ctl", "-D", data_dir().string(), "-l", log.string(), "-w", "-t", "60", "start"},
                m_owner);
            started = result.status == 0;
            output = result.output;
        }
        if (!started) {
            throw enmap::DatabaseError("dev database: the server did not start:\n" + output + read_text(log),
                                       "its log is " + log.string());
        }
        std::error_code ec;
        fs::remove(m_folder / "server.log", ec);
        if (log != m_folder / "server.log") {
            fs::create_symlink(log, m_folder / "server.log", ec);
        }
        spdlog::info("dev database: started on 127.0.0.1:{} (log: {})", configured_port(),
                     (m_folder / "server.log").string());
    }
    std::string db_url = url();
    create_database(db_url);
    return db_url;
}

void DevDb::create_database(const std::string& db_url) const {
    std::string admin = "postgresql://postgres@127.0.0.1:" + std::to_string(configured_port()) + "/postgres";
    try {
        pqxx::connection conn(admin);
        pqxx::nontransaction tx(conn);
        if (tx.exec("SELECT 1 FROM pg_database WHERE datname = " + tx.quote(k_database)).empty()) {
            tx.exec(std::string("CREATE DATABASE ") + k_database);
        }
    } catch (const pqxx::failure& e) {
        throw enmap::DatabaseError("dev database: cannot create database " + std::string(k_database) +
                                   " at " + db_url + ": " + e.what());
    }
}

void DevDb::stop() {
    if (running()) {
        auto result =
            run_process({m_bin + "/pg_ctl", "-D", data_dir().string(), "-m", "fast", "-w", "stop"}, m_owner);
        if (result.status != 0) {
            throw enmap::DatabaseError("dev database: pg_ctl stop failed:\n" + result.output);
        }
    }
}

void DevDb::destroy() {
    stop();
    std::error_code ec;
    fs::path data =
        fs::is_symlink(m_folder / "data", ec) ? fs::read_symlink(m_folder / "data", ec) : fs::path();
    if (!data.empty()) {
        fs::remove_all(data.parent_path(), ec);
    }
    fs::remove_all(m_folder, ec);
    if (ec) {
        throw enmap::Error("dev database: cannot remove " + m_folder.string() + ": " + ec.message());
    }
}

DevDbStatus DevDb::status() const {
    DevDbStatus s;
    s.folder = m_folder;
    s.initialized = fs::exists(data_dir() / "PG_VERSION");
    if (s.initialized) {
        s.data_dir = fs::canonical(data_dir());
        s.log_file = m_folder / "server.log";
        s.socket_dir = s.data_dir.parent_path();
        s.port = configured_port();
        s.running = running();
        if (s.running) {
            s.url = url();
        }
    }
    return s;
}

std::string DevDb::url() const {
    if (!running()) {
        throw enmap::DatabaseError("dev database in " + m_folder.string() + " is not running",
                                   "start it with `enmap-migrate devdb start`");
    }
    return "postgresql://postgres@127.0.0.1:" + std::to_string(configured_port()) + "/" + k_database;
}

std::string default_database_url(const std::string& given) {
    if (!given.empty()) {
        return given;
    }
    DevDb devdb(DevDb::default_folder());
    spdlog::info("no --database and no DATABASE_URL: using the embedded dev database in {}",
                 devdb.status().folder.string());
    return devdb.start();
}

}  // namespace replay
