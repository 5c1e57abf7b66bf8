#include "cli/commands.hpp"

int main(int argc, char** argv) { return rasterflow::cli::main(argc, argv); }
