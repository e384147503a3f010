#pragma once
// analyze/ reports made from shapes.json: report.md, and report.html, one self-contained file
// (inline CSS and SVG charts, no script, no network). Both are functions of shapes.json alone.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace analyze {

/// What a reviewer should look at in one table of shapes.json, one sentence each.
std::vector<std::string> review_points(const nlohmann::json& table);

/// The Markdown report of shapes.json.
std::string render_markdown(const nlohmann::json& shapes);

/// The HTML report of shapes.json: one file, no external reference.
std::string render_html(const nlohmann::json& shapes);

/// Writes shapes.json, report.md and report.html into `dir` (created when missing); throws
/// enmap::Error when a file cannot be written.
void write_reports(const std::filesystem::path& dir, const nlohmann::json& shapes);

}  // namespace analyze
