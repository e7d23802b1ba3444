// TEMPORARY while helpers finish their commands.
#include "commands.hpp"
namespace turbotwin::cli {
void register_evaluate(CLI::App&) {}
}
