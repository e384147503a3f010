#include "enmap/sample.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "enmap/database.hpp"
#include "enmap/decode.hpp"
#include "enmap/encode.hpp"
#include "enmap/error.hpp"

namespace fs = std::filesystem;

namespace enmap {

namespace {

using Members = std::vector<JsValue::Member>;

constexpr std::array<const char*, 14> k_words = {
    "hello",       "welcome",  "gg", "it's",    "quote\"s", "back\\slash", "path/to",
    "line\nbreak", "tab\tbed", "🎉",  "ünïcödé", "日本語",   "<b>bold</b>", "zalgo ̵̡̛"};
constexpr std::array<const char*, 6> k_languages = {"en", "fr", "de", "pt-BR", "es", "ja"};
constexpr std::array<const char*, 5> k_prefixes = {"!", "?", ">>", "$", "."};
constexpr std::array<const char*, 6> k_items = {"sword", "potion", "shield", "gem", "map", "key"};

/// One Enmap generation: its encoding and the habits of a bot written against it.
struct Generation {
    Encoding encoding;
    bool changes_tables;  // Enmap 5 keeps internal::changes::<name>
    bool rich_types;      // Dates, Sets, Maps and BigInts survive (5.8+)
};

Generation parse_generation(const std::string& name) {
    if (name == "5.7") {
        return {Encoding::k_json, true, false};
    }
    if (name == "5.9") {
        return {Encoding::k_serialize_javascript, true, true};
    }
    if (name == "6" || name == "6.1") {
        return {Encoding::k_better_serialize, false, true};
    }
    throw UsageError("unknown Enmap generation '" + name + "'", "use --generation 5.7, 5.9 or 6");
}

class Writer {
public:
    Writer(Generation generation, std::uint64_t seed) : m_gen(generation), m_rng(seed) {}

    std::string snowflake() {
        // Discord ids: 17-19 digits, and far beyond 2^53, so always strings.
        std::uniform_int_distribution<std::uint64_t> d(100000000000000000ULL, 999999999999999999ULL);
        return std::to_string(d(m_rng));
    }
    std::uint64_t pick(std::uint64_t n) {
        return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(m_rng);
    }
    bool chance(double p) { return std::bernoulli_distribution(p)(m_rng); }
    std::string words(int count) {
        std::string out;
        for (int i = 0; i < count; ++i) {
            out += (i > 0 ? " " : "");
            out += k_words.at(pick(k_words.size()));
        }
        return out;
    }
    double timestamp_ms() { return 1609459200000.0 + static_cast<double>(pick(126230400000ULL)); }
    /// A moment: a Date where the generation keeps it, else epoch milliseconds as the bot stored Date.now().
    JsValue moment() {
        return m_gen.rich_types ? JsValue::date(timestamp_ms()) : JsValue::num(timestamp_ms());
    }
    JsValue id_list(std::size_t n, bool as_set) {
        std::vector<JsValue> items;
        for (std::size_t i = 0; i < n; ++i) {
            items.push_back(JsValue::str(snowflake()));
        }
        return as_set && m_gen.rich_types ? JsValue::set(std::move(items)) : JsValue::array(std::move(items));
    }
    std::string encode_value(const JsValue& v) {
        auto text = encode(v, m_gen.encoding);
        return text.value_or("null");
    }

    Generation m_gen;
    std::mt19937_64 m_rng;
};

std::u16string u(const char* s) {
    return utf16(s);
}

void create_table(SQLite::Database& db, const Generation& gen, const std::string& name) {
    db.exec("CREATE TABLE '" + name + "' (key text PRIMARY KEY, value text)");
    if (gen.changes_tables) {
        db.exec("CREATE TABLE IF NOT EXISTS 'internal::changes::" + name +
                "' (type TEXT, key TEXT, value TEXT, timestamp INTEGER, pid INTEGER)");
    }
}

struct TableWriter {
    SQLite::Statement insert;
    std::uint64_t& rows;
    TableWriter(SQLite::Database& db, const std::string& name, std::uint64_t& counter)
        : insert(db, "INSERT OR REPLACE INTO '" + name + "' (key, value) VALUES (?, ?)"), rows(counter) {}
    void put(const std::string& key, const std::string& value) {
        insert.bind(1, key);
        insert.bind(2, value);
        insert.exec();
        insert.reset();
        ++rows;
    }
};

}  // namespace

SampleResult write_sample_database(const fs::path& dir, const SampleOptions& options) {
    Generation gen = parse_generation(options.generation);
    fs::create_directories(dir);
    fs::path file = dir / "enmap.sqlite";
    if (fs::exists(file)) {
        throw InputError(file.string() + " already exists; sample-data never overwrites a database",
                         "choose an empty --out folder");
    }
    SampleResult result;
    Writer w(gen, options.seed);
    const std::vector<std::string> tables = {"global",    "guildsettings", "points",    "tags",
                                             "reminders", "warnings",      "giveaways", "economy"};
    std::vector<std::string> guilds;
    std::vector<std::pair<std::string, std::string>> members;  // guild, user
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("PRAGMA journal_mode = WAL");
        db.exec("PRAGMA synchronous = OFF");
        SQLite::Transaction tx(db);
        for (const auto& t : tables) {
            create_table(db, gen, t);
        }
        db.exec("CREATE TABLE IF NOT EXISTS 'internal::autonum' (enmap TEXT PRIMARY KEY, lastnum INTEGER)");
        for (const auto& t : tables) {
            db.exec("INSERT INTO 'internal::autonum' (enmap, lastnum) VALUES ('" + t + "', 0)");
        }

        TableWriter global(db, "global", result.rows["global"]);
        global.put("maintenance", w.encode_value(JsValue::boolean_value(false)));
        global.put("version", w.encode_value(JsValue::str(std::string("3.14.1"))));
        global.put("owners", w.encode_value(w.id_list(2, false)));
        global.put("statusMessages",
                   w.encode_value(JsValue::array({JsValue::str(std::string("with fire")),
                                                  JsValue::str(std::string("in {{guilds}} servers")),
                                                  JsValue::str(std::string("type !help"))})));
        global.put("lastRestart", w.encode_value(JsValue::date(w.timestamp_ms())));
        global.put("counters", w.encode_value(JsValue::object({{u("commands"), JsValue::num(1234567)},
                                                               {u("errors"), JsValue::num(12)},
                                                               {u("uptimeRatio"), JsValue::num(0.9995)}})));
        global.put("motd", w.encode_value(JsValue::null()));

        TableWriter settings(db, "guildsettings", result.rows["guildsettings"]);
        TableWriter points(db, "points", result.rows["points"]);
        TableWriter tags(db, "tags", result.rows["tags"]);
        TableWriter warnings(db, "warnings", result.rows["warnings"]);
        TableWriter giveaways(db, "giveaways", result.rows["giveaways"]);
        for (std::uint64_t g = 0; g < options.scale; ++g) {
            std::string guild = w.snowflake();
            guilds.push_back(guild);
            Members limits = {{u("maxWarns"), JsValue::num(static_cast<double>(3 + w.pick(5)))}};
            if (w.chance(0.5)) {
                limits.push_back({u("slowmode"), JsValue::num(static_cast<double>(w.pick(30)))});
            }
            std::vector<JsValue> disabled;
            if (w.chance(0.6)) {
                disabled = {JsValue::str(std::string("nsfw")), JsValue::str(std::string("meme"))};
            }
            Members s = {
                {u("prefix"), JsValue::str(std::string(k_prefixes.at(w.pick(k_prefixes.size()))))},
                {u("modLogChannel"), w.chance(0.8) ? JsValue::str(w.snowflake()) : JsValue::null()},
                {u("modRole"), JsValue::str(w.snowflake())},
                {u("adminRole"), JsValue::str(w.snowflake())},
                {u("welcomeChannel"), w.chance(0.7) ? JsValue::str(w.snowflake()) : JsValue::null()},
                {u("welcomeMessage"), JsValue::str("Say hello to {{user}}, " + w.words(2) + "!")},
                {u("disabledCommands"), JsValue::array(std::move(disabled))},
                {u("language"), JsValue::str(std::string(k_languages.at(w.pick(k_languages.size()))))},
                {u("autoRoles"), w.id_list(1 + w.pick(3), true)},
                {u("createdAt"), w.moment()},
                {u("limits"), JsValue::object(std::move(limits))},
            };
            settings.put(guild, w.encode_value(JsValue::object(std::move(s))));

            std::uint64_t member_count = 10 + w.pick(20);
            for (std::uint64_t m = 0; m < member_count; ++m) {
                std::string user = w.snowflake();
                members.emplace_back(guild, user);
                double pts = static_cast<double>(w.pick(100000));
                std::string key = guild;
                key.append("-").append(user);
                points.put(key,
                           w.encode_value(JsValue::object({{u("user"), JsValue::str(user)},
                                                           {u("guild"), JsValue::str(guild)},
                                                           {u("points"), JsValue::num(pts)},
                                                           {u("level"), JsValue::num(std::floor(pts / 1000))},
                                                           {u("lastSeen"), w.moment()}})));
                if (w.chance(0.15)) {
                    std::vector<JsValue> list;
                    std::uint64_t n = 1 + w.pick(4);
                    for (std::uint64_t i = 1; i <= n; ++i) {
                        list.push_back(JsValue::object({{u("id"), JsValue::num(static_cast<double>(i))},
                                                        {u("moderator"), JsValue::str(w.snowflake())},
                                                        {u("reason"), JsValue::str(w.words(4))},
                                                        {u("at"), w.moment()}}));
                    }
                    warnings.put(key, w.encode_value(JsValue::array(std::move(list))));
                }
            }
            std::uint64_t tag_count = 2 + w.pick(6);
            for (std::uint64_t t = 0; t < tag_count; ++t) {
                std::string name = std::string(t % 2 == 0 ? "faq" : "rule") + std::to_string(t);
                tags.put(std::string(guild).append(":").append(name),
                         w.encode_value(JsValue::object(
                             {{u("content"), JsValue::str(w.words(6 + static_cast<int>(w.pick(10))))},
                              {u("author"), JsValue::str(w.snowflake())},
                              {u("uses"), JsValue::num(static_cast<double>(w.pick(500)))},
                              {u("createdAt"), w.moment()}})));
            }
            if (w.chance(0.3)) {
                std::vector<JsValue> entrants;
                std::vector<JsValue> winners;
                std::uint64_t n = w.pick(6);
                for (std::uint64_t i = 0; i < n; ++i) {
                    entrants.push_back(JsValue::str(members.at(members.size() - 1 - i).second));
                }
                bool ended = w.chance(0.5);
                if (ended && !entrants.empty()) {
                    winners.push_back(entrants.front());
                }
                JsValue entrant_value =
                    gen.rich_types ? JsValue::set(std::move(entrants)) : JsValue::array(std::move(entrants));
                giveaways.put(
                    w.snowflake(),
                    w.encode_value(JsValue::object({{u("prize"), JsValue::str(w.words(2))},
                                                    {u("entrants"), std::move(entrant_value)},
                                                    {u("winners"), JsValue::array(std::move(winners))},
                                                    {u("endsAt"), w.moment()},
                                                    {u("ended"), JsValue::boolean_value(ended)}})));
            }
        }

        TableWriter reminders(db, "reminders", result.rows["reminders"]);
        std::uint64_t reminder_count = options.scale * 2;
        for (std::uint64_t r = 1; r <= reminder_count; ++r) {
            const auto& [guild, user] = members.at(w.pick(members.size()));
            reminders.put(std::to_string(r),
                          w.encode_value(JsValue::object(
                              {{u("user"), JsValue::str(user)},
                               {u("channel"), JsValue::str(w.snowflake())},
                               {u("message"), JsValue::str(w.words(3))},
                               {u("due"), w.moment()},
                               {u("repeat"), w.chance(0.3) ? JsValue::num(86400000) : JsValue::null()}})));
        }
        db.exec("UPDATE 'internal::autonum' SET lastnum = " + std::to_string(reminder_count) +
                " WHERE enmap = 'reminders'");
        result.autonum["reminders"] = reminder_count;

        TableWriter economy(db, "economy", result.rows["economy"]);
        std::uint64_t wallets = options.scale * 10;
        for (std::uint64_t e = 0; e < wallets && e < members.size(); ++e) {
            const std::string& user = members.at(e).second;
            std::string bank = std::to_string(w.pick(1000000)) + "000000000";
            Members inv_members;
            std::vector<JsValue::Entry> inv_entries;
            for (std::uint64_t i = 0, n = 1 + w.pick(3); i < n; ++i) {
                const char* item = k_items.at((e + i) % k_items.size());
                double count = static_cast<double>(1 + w.pick(20));
                inv_members.push_back({u(item), JsValue::num(count)});
                inv_entries.push_back({JsValue::str(std::string(item)), JsValue::num(count)});
            }
            economy.put(
                user, w.encode_value(JsValue::object(
                          {{u("wallet"), JsValue::num(static_cast<double>(w.pick(5000)))},
                           {u("bank"), gen.rich_types ? JsValue::bigint(bank)
                                                      : JsValue::num(static_cast<double>(w.pick(500000000)))},
                           {u("inventory"), gen.rich_types ? JsValue::map(std::move(inv_entries))
                                                           : JsValue::object(std::move(inv_members))},
                           {u("daily"), w.chance(0.5) ? w.moment() : JsValue::null()}})));
        }
        tx.commit();
    }
    if (options.wal) {
        // A bot killed after these writes leaves them in enmap.sqlite-wal, not yet checkpointed.
        // A child process writes and exits without closing, so SQLite never checkpoints.
        pid_t pid = ::fork();
        if (pid == 0) {
            try {
                SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
                db.exec("PRAGMA wal_autocheckpoint = 0");
                SQLite::Transaction tx(db);
                SQLite::Statement up(db, "INSERT OR REPLACE INTO 'global' (key, value) VALUES (?, ?)");
                up.bind(1, "lastCrash");
                up.bind(2, w.encode_value(JsValue::date(w.timestamp_ms())));
                up.exec();
                SQLite::Statement up2(db, "INSERT OR REPLACE INTO 'global' (key, value) VALUES (?, ?)");
                up2.bind(1, "maintenance");
                up2.bind(2, w.encode_value(JsValue::boolean_value(true)));
                up2.exec();
                tx.commit();
                ::_exit(0);  // before the destructors: closing the connection would checkpoint
            } catch (const std::exception& e) {
                std::fprintf(stderr, "sample-data: writing the WAL failed: %s\n", e.what());
                ::_exit(1);
            }
            ::_exit(0);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !fs::exists(dir / "enmap.sqlite-wal")) {
            throw Error("sample-data: could not leave writes in " + (dir / "enmap.sqlite-wal").string());
        }
        result.rows["global"] += 1;
    }
    for (const auto& [table, rows] : result.rows) {
        result.total_rows += rows;
    }
    return result;
}

namespace {

/// Rows of the one-table mode, made on a thread of their own while SQLite inserts the previous
/// ones: the same seed gives the same rows in the same order, whichever thread is faster.
class RowMaker {
public:
    static constexpr std::size_t k_rows_per_block = 1024;
    struct Block {
        std::vector<std::pair<std::string, std::string>> rows;  // key, value
    };

    RowMaker(Generation gen, std::uint64_t seed) : m_writer(gen, seed), m_thread([this] { run(); }) {}
    ~RowMaker() {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
        }
        m_changed.notify_all();
        m_thread.join();
    }
    RowMaker(const RowMaker&) = delete;
    RowMaker& operator=(const RowMaker&) = delete;

    /// The next block of rows; rethrows the maker's error.
    Block next() {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return !m_ready.empty() || m_error; });
        if (m_ready.empty()) {
            std::rethrow_exception(m_error);
        }
        Block block = std::move(m_ready.front());
        m_ready.pop_front();
        m_changed.notify_all();
        return block;
    }

private:
    void run() {
        try {
            std::vector<std::string> guilds;
            for (;;) {
                Block block;
                for (std::size_t i = 0; i < k_rows_per_block; ++i) {
                    // About 50 members per guild, guilds and users in no order: a bot's write order.
                    if (guilds.empty() || m_writer.pick(50) == 0) {
                        guilds.push_back(m_writer.snowflake());
                    }
                    const std::string& guild = guilds[m_writer.pick(guilds.size())];
                    std::string user = m_writer.snowflake();
                    std::string value = m_writer.encode_value(
                        points_value(m_writer.m_rng, m_writer.m_gen.encoding, guild, user));
                    std::string key = guild;
                    key.append("-").append(user);
                    block.rows.emplace_back(std::move(key), std::move(value));
                }
                std::unique_lock lock(m_mutex);
                m_changed.wait(lock, [&] { return m_stop || m_ready.size() < 8; });
                if (m_stop) {
                    return;
                }
                m_ready.push_back(std::move(block));
                m_changed.notify_all();
            }
        } catch (...) {
            std::lock_guard lock(m_mutex);
            m_error = std::current_exception();
            m_changed.notify_all();
        }
    }

    Writer m_writer;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<Block> m_ready;
    bool m_stop = false;
    std::exception_ptr m_error;
    std::thread m_thread;  // last: it starts once the members above exist
};

}  // namespace

SampleTableResult write_sample_table(const fs::path& dir, const SampleTableOptions& options) {
    Generation gen = parse_generation(options.generation);
    if (options.rows == 0 && options.target_mb == 0) {
        throw UsageError("sample-data: give --rows N or --target-mb M for the one-table mode");
    }
    if (options.table.empty() || options.table.rfind("internal::", 0) == 0) {
        throw UsageError("sample-data: --table '" + options.table + "' is not a name Enmap gives a table",
                         "use a plain name such as points");
    }
    fs::create_directories(dir);
    fs::path file = dir / "enmap.sqlite";
    if (fs::exists(file)) {
        throw InputError(file.string() + " already exists; sample-data never overwrites a database",
                         "choose an empty --out folder");
    }
    constexpr std::uint64_t k_page_size = 4096;
    const std::uint64_t target_pages = options.target_mb * 1024 * 1024 / k_page_size;
    SampleTableResult result;
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        // Fast while writing: no journal, no fsync, one transaction, a cache that holds the key
        // index. journal_mode=OFF is not recorded in the file, which closes as a rollback-journal one.
        db.exec("PRAGMA page_size = " + std::to_string(k_page_size));
        db.exec("PRAGMA journal_mode = OFF");
        db.exec("PRAGMA synchronous = OFF");
        db.exec("PRAGMA locking_mode = EXCLUSIVE");
        db.exec("PRAGMA cache_size = -262144");
        db.exec("BEGIN");
        const std::string table = quote_identifier(options.table);
        db.exec("CREATE TABLE " + table + " (key text PRIMARY KEY, value text)");
        db.exec("CREATE TABLE 'internal::autonum' (enmap TEXT PRIMARY KEY, lastnum INTEGER)");
        SQLite::Statement counter(db, "INSERT INTO 'internal::autonum' (enmap, lastnum) VALUES (?, 0)");
        counter.bind(1, options.table);
        counter.exec();
        SQLite::Statement insert(db, "INSERT OR IGNORE INTO " + table + " (key, value) VALUES (?, ?)");
        SQLite::Statement page_count(db, "PRAGMA page_count");
        RowMaker maker(gen, options.seed);
        bool done = false;
        while (!done) {
            if (target_pages != 0) {
                page_count.reset();
                page_count.executeStep();
                if (static_cast<std::uint64_t>(page_count.getColumn(0).getInt64()) >= target_pages) {
                    break;
                }
            }
            RowMaker::Block block = maker.next();
            for (const auto& [key, value] : block.rows) {
                if (options.rows != 0 && result.rows == options.rows) {
                    done = true;
                    break;
                }
                insert.reset();
                insert.bindNoCopy(1, key);
                insert.bindNoCopy(2, value);
                if (insert.exec() == 1) {  // 0: the key was drawn twice; take the next row instead
                    ++result.rows;
                    result.value_bytes += value.size();
                }
            }
        }
        db.exec("COMMIT");
        db.exec("PRAGMA journal_mode = DELETE");
    }
    result.file_bytes = fs::file_size(file);
    return result;
}

}  // namespace enmap
