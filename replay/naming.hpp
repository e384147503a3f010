#pragma once
// replay/ table naming (docs/contract.md section 3): which raw_<name> table each enmap lands in.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace replay {

/// The longest identifier PostgreSQL keeps whole (NAMEDATALEN - 1).
constexpr std::size_t k_max_identifier_bytes = 63;

/// The <name> of raw_<name> for an enmap: kept when it matches [a-z_][a-z0-9_]*, otherwise
/// snake_cased (GuildConfig -> guild_config, guildSettings -> guild_settings, other bytes -> _).
std::string snake_case_name(std::string_view enmap_name);

/// True when `name` matches [a-z_][a-z0-9_]*.
bool is_plain_identifier(std::string_view name);

/// Parses "--rename ENMAP=TABLE" values into enmap -> name; throws enmap::UsageError.
std::map<std::string, std::string> parse_renames(const std::vector<std::string>& specs);

/// Maps every enmap to its raw_ table name, applying renames. Throws enmap::InputError naming
/// both sides of every collision and every name over 63 bytes, and saying to use --rename.
std::map<std::string, std::string> resolve_table_names(const std::vector<std::string>& enmaps,
                                                       const std::map<std::string, std::string>& renames);

/// For an enmap name the source lacks: a sentence naming the source's enmap that differs from it
/// only by case (Enmap 5 stores `guildConfig` as `guildconfig`) and the fix; empty when none does.
std::string near_enmap_hint(const std::string& wanted, const std::vector<std::string>& enmaps);

/// The table that holds the autonum counters.
constexpr std::string_view k_autonum_table = "raw_internal_autonum";

}  // namespace replay
