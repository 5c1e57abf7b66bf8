#pragma once
// The `rasterflow` command line (DESIGN.md's contract). Returns the process exit code:
// 0 success, 2 bad usage/configuration/graph, 1 failure while running, 130 interrupted.
namespace rasterflow::cli {
int main(int argc, char** argv);
}
