// Boost's assertion handler (BOOST_ENABLE_ASSERT_DEBUG_HANDLER, set for every turbotwin target):
// in builds without NDEBUG a failed BOOST_ASSERT lands here instead of in assert().
//
// Why: Boost 1.74's Beast asserts `n >= 5` in basic_parser::parse_chunk_header when a chunked
// body's last chunk ("0\r\n") arrives and the next read brings fewer than two more bytes. The
// assertion is wrong, not the parser: the code after it finds no end of message and asks for
// more input, which is right (boostorg/beast#2861, fixed in Boost 1.86). Release builds compile
// the assertion out; the sanitizer and fuzz builds would abort on a client's perfectly legal
// byte timing. Every other Boost assertion still aborts with its location.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

bool is_known_false_assertion(std::string_view expr, std::string_view file) {
    return expr == "n >= 5" && file.ends_with("boost/beast/http/impl/basic_parser.ipp");
}

[[noreturn]] void fail(const char* expr, const char* msg, const char* function, const char* file, long line) {
    std::fprintf(stderr, "%s:%ld: %s: Boost assertion `%s' failed%s%s\n", file, line, function, expr,
                 msg != nullptr ? ": " : "", msg != nullptr ? msg : "");
    std::abort();
}

}  // namespace

namespace boost {

void assertion_failed(const char* expr, const char* function, const char* file, long line) {
    if (is_known_false_assertion(expr, file)) return;
    fail(expr, nullptr, function, file, line);
}

void assertion_failed_msg(const char* expr, const char* msg, const char* function, const char* file, long line) {
    if (is_known_false_assertion(expr, file)) return;
    fail(expr, msg, function, file, line);
}

}  // namespace boost
