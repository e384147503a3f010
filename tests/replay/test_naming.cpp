// replay/naming.cpp: docs/contract.md section 3 table names.

#include <doctest/doctest.h>

#include "enmap/error.hpp"
#include "replay/naming.hpp"

TEST_CASE("naming: plain names stay, others are snake_cased") {
    CHECK(replay::snake_case_name("points") == "points");
    CHECK(replay::snake_case_name("guild_settings2") == "guild_settings2");
    CHECK(replay::snake_case_name("GuildConfig") == "guild_config");
    CHECK(replay::snake_case_name("guildSettings") == "guild_settings");
    CHECK(replay::snake_case_name("HTTPCache") == "http_cache");
    CHECK(replay::snake_case_name("user-levels.v2") == "user_levels_v2");
    CHECK(replay::snake_case_name("2fa") == "_2fa");
    CHECK(replay::snake_case_name("Ümlaut") == "__mlaut");
}

TEST_CASE("naming: a collision is an error naming both enmaps, settled by --rename") {
    std::vector<std::string> enmaps = {"guildSettings", "guild_settings", "points"};
    try {
        replay::resolve_table_names(enmaps, {});
        FAIL("expected an error");
    } catch (const enmap::InputError& e) {
        std::string what = e.what();
        CHECK(what.find("'guildSettings'") != std::string::npos);
        CHECK(what.find("'guild_settings'") != std::string::npos);
        CHECK(what.find("raw_guild_settings") != std::string::npos);
        CHECK(e.hint().find("--rename") != std::string::npos);
    }
    auto names =
        replay::resolve_table_names(enmaps, replay::parse_renames({"guildSettings=guild_settings_v6"}));
    CHECK(names.at("guildSettings") == "raw_guild_settings_v6");
    CHECK(names.at("guild_settings") == "raw_guild_settings");
    CHECK(names.at("points") == "raw_points");
}

TEST_CASE("naming: names over 63 bytes and the autonum table are refused") {
    std::string long_name(60, 'a');
    CHECK_THROWS_AS(replay::resolve_table_names({long_name}, {}), enmap::InputError);
    auto ok = replay::resolve_table_names({long_name}, replay::parse_renames({long_name + "=short"}));
    CHECK(ok.at(long_name) == "raw_short");
    CHECK_THROWS_AS(replay::resolve_table_names({"internal_autonum"}, {}), enmap::InputError);
}

TEST_CASE("naming: bad --rename values are usage errors") {
    CHECK_THROWS_AS(replay::parse_renames({"points"}), enmap::UsageError);
    CHECK_THROWS_AS(replay::parse_renames({"points=Bad-Name"}), enmap::UsageError);
    CHECK_THROWS_AS(replay::resolve_table_names({"points"}, replay::parse_renames({"nosuch=x"})),
                    enmap::UsageError);
}
