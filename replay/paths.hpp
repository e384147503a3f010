#pragma once
// replay/ keeping the files a plan names inside the plan folder.

#include <filesystem>

namespace replay {

/// True when `path`, with every symbolic link resolved, lies inside `folder` (resolved too).
bool inside_folder(const std::filesystem::path& folder, const std::filesystem::path& path);

}  // namespace replay
