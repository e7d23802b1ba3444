#pragma once
// The bearer tokens the REST tests authenticate with: an operator's and a viewer's.
#include <string>

namespace turbotwin::testing_support {

inline const std::string op_token = "op-0123456789abcdef";
inline const std::string view_token = "view-0123456789abcdef";

}  // namespace turbotwin::testing_support
