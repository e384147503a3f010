#pragma once
// The embedded dev database: a private PostgreSQL cluster under .enmap-migrate/devdb/, started
// with Debian's initdb and pg_ctl, listening on a unix socket in its folder and on a free
// loopback port. It is the default target of rehearse and replay when no database is given.

#include <filesystem>
#include <string>

namespace replay {

/// What `devdb status` reports.
struct DevDbStatus {
    bool initialized = false;
    bool running = false;
    int port = 0;
    std::string url;                   // set when running
    std::filesystem::path folder;      // .enmap-migrate/devdb
    std::filesystem::path data_dir;    // the cluster's data folder
    std::filesystem::path log_file;    // server log
    std::filesystem::path socket_dir;  // where the unix socket lives
};

/// A private PostgreSQL cluster in one folder. Methods throw enmap::DatabaseError when the
/// server binaries are missing (naming scripts/bootstrap) or the server fails to start.
class DevDb {
public:
    /// The cluster living in `folder` (created on start).
    explicit DevDb(std::filesystem::path folder);

    /// The default folder: $ENMAP_MIGRATE_DEVDB, else <project_root()>/.enmap-migrate/devdb.
    static std::filesystem::path default_folder();

    /// Initialises the cluster if needed and starts it; returns its URL. Idempotent.
    std::string start();
    /// Stops the server if it runs. Idempotent.
    void stop();
    /// Stops the server and removes the cluster and its folder.
    void destroy();
    /// Reports whether the cluster exists and runs.
    [[nodiscard]] DevDbStatus status() const;
    /// The connection URL; throws enmap::DatabaseError when the server is not running.
    [[nodiscard]] std::string url() const;

private:
    [[nodiscard]] std::filesystem::path data_dir() const;
    [[nodiscard]] int configured_port() const;
    [[nodiscard]] bool running() const;
    void initialize();
    void set_port(int port);
    void create_database(const std::string& url) const;

    std::filesystem::path m_folder;
    std::string m_bin;    // /usr/lib/postgresql/N/bin
    std::string m_owner;  // "postgres" when we are root, else empty (ourselves)
};

/// The project folder, found as git finds .git: the nearest of the current folder and its parents
/// that holds `.enmap-migrate/` or `enmap-snapshots/`; the current folder when none does. Absolute.
std::filesystem::path project_root();

/// The default snapshot store: <project_root()>/enmap-snapshots (--store and $ENMAP_MIGRATE_STORE
/// override it).
std::filesystem::path default_store();

/// Where `rollback postgres --force` saves what it drops: <store>/saved.
std::filesystem::path saved_folder(const std::filesystem::path& store);

/// The URL to use when neither --database nor DATABASE_URL is given: starts the dev database on
/// demand and says so on stderr.
std::string default_database_url(const std::string& given);

}  // namespace replay
