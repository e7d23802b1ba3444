#include "turbotwin/mqtt/client.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <mqtt/async_client.h>
#include <spdlog/spdlog.h>

namespace turbotwin::mqtt {

namespace {

using namespace std::chrono_literals;

// Short enough for MQTT 3.1's 23-character limit on client ids.
std::string generated_client_id() {
    std::random_device rd;
    std::uint64_t bits = (std::uint64_t{rd()} << 32) ^ rd() ^
                         static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = "turbotwin-";
    for (int i = 0; i < 12; ++i, bits >>= 4) id += hex[bits & 0xf];
    return id;
}

// Paho's connect timeout is in whole seconds; never let it be 0 (which means "no timeout").
int whole_seconds_at_least_one(std::chrono::milliseconds d) {
    return static_cast<int>(std::max<std::int64_t>(1, (d.count() + 999) / 1000));
}

std::string_view scheme_of(std::string_view url) {
    const auto at = url.find("://");
    return at == std::string_view::npos ? std::string_view{} : url.substr(0, at);
}

bool is_tls_scheme(std::string_view s) { return s == "ssl" || s == "mqtts" || s == "wss"; }

// The URL Paho gets: with TLS files given, a plain scheme becomes its TLS twin, so that
// credentials never go out in clear text because the URL said tcp://.
std::string effective_url(const client_options& o) {
    if (!o.tls.any_file()) return o.broker_url;
    const auto s = scheme_of(o.broker_url);
    if (s == "tcp" || s == "mqtt") return "ssl" + o.broker_url.substr(s.size());
    if (s == "ws") return "wss" + o.broker_url.substr(s.size());
    return o.broker_url;
}

// Empty when `path` is a readable regular file that looks like PEM, else why not. OpenSSL
// would fail later, at connect, with a reason that does not name the file.
std::string pem_file_problem(const char* what, const std::string& path) {
    namespace fs = std::filesystem;
    const std::string prefix = std::string(what) + " '" + path + "': ";
    std::error_code ec;
    const auto st = fs::status(path, ec);
    if (!fs::exists(st)) return prefix + "no such file";
    if (!fs::is_regular_file(st)) return prefix + "not a regular file";
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return prefix + "cannot read: " + std::strerror(errno);
    std::string head(64 * 1024, '\0');
    head.resize(std::fread(head.data(), 1, head.size(), f));
    const bool read_error = std::ferror(f) != 0;
    std::fclose(f);
    if (read_error) return prefix + "read error";
    if (head.find("-----BEGIN ") == std::string::npos) return prefix + "not a PEM file (no '-----BEGIN' line)";
    return {};
}

// Paho reports a refused CONNECT as "MQTT error [5]: CONNACK return code": say what it means.
std::string connect_failure(const ::mqtt::exception& e, const client_options& o, bool tls) {
    const std::string who = o.username.empty() ? "without a user name" : "as user '" + o.username + "'";
    switch (e.get_return_code()) {
    case 4: return "the broker refused the user name or password (" + who + ")";
    case 5: return "the broker refused the connection: not authorized (" + who + "; check the user name and password)";
    case 1: return "the broker refused the connection: unacceptable protocol version";
    case 2: return "the broker refused the client id '" + o.client_id + "'";
    case 3: return "the broker refused the connection: server unavailable";
    case -1:
        // Paho gives no detail for a failed TLS handshake.
        if (tls) return std::string(e.what()) + " (TLS: check the broker's certificate against the CA file and the URL's host name, and the client certificate)";
        break;
    default: break;
    }
    return e.what();
}

}  // namespace

bool uses_tls(const client_options& options) {
    return options.tls.any_file() || is_tls_scheme(scheme_of(options.broker_url));
}

Result<bool> check_options(const client_options& o) {
    const auto scheme = scheme_of(o.broker_url);
    // No scheme: Paho takes host:port as tcp://.
    const bool known = scheme.empty() || scheme == "tcp" || scheme == "mqtt" || scheme == "ws" || is_tls_scheme(scheme);
    if (o.broker_url.empty() || !known)
        return {errc::invalid_argument, "broker URL '" + o.broker_url + "' must start with tcp://, ssl:// or mqtts:// (or ws://, wss://)"};
    if (!o.password.empty() && o.username.empty())
        return {errc::invalid_argument, "an MQTT password needs a username"};
    if (!o.tls.key_file.empty() && o.tls.cert_file.empty())
        return {errc::invalid_argument, "a TLS private key (key_file) needs its client certificate (cert_file)"};
    if (!uses_tls(o)) return true;
    const std::pair<const char*, const std::string*> files[] = {
        {"TLS CA file", &o.tls.ca_file}, {"TLS client certificate", &o.tls.cert_file}, {"TLS private key", &o.tls.key_file}};
    for (const auto& [what, path] : files) {
        if (path->empty()) continue;
        if (auto problem = pem_file_problem(what, *path); !problem.empty()) return {errc::io_error, problem};
    }
    return true;
}

struct client::impl {
    explicit impl(client_options o) : opts(std::move(o)) {
        if (opts.client_id.empty()) opts.client_id = generated_client_id();
        if (opts.reconnect_min <= 0ms) opts.reconnect_min = 500ms;
        if (opts.reconnect_max < opts.reconnect_min) opts.reconnect_max = opts.reconnect_min;
        tls = uses_tls(opts);
        opts.broker_url = effective_url(opts);
        if (auto ok = check_options(opts); !ok) {
            init_error = ok.detail();
            return;
        }
        try {
            ::mqtt::create_options create;
            // Buffer while disconnected too, even before the first connect: a publish during a
            // reconnect (or an alert from the journal replay at start-up) is queued, not refused.
            create.set_send_while_disconnected(true, /*anyTime=*/true);
            create.set_max_buffered_messages(std::max(1, opts.max_buffered));
            cli = std::make_unique<::mqtt::async_client>(opts.broker_url, opts.client_id, create);
            cli->set_connected_handler([this](const std::string& cause) { on_connected(cause); });
            cli->set_connection_lost_handler([this](const std::string& cause) { on_connection_lost(cause); });
        } catch (const ::mqtt::exception& e) {
            init_error = e.what();
            cli.reset();
        } catch (const std::exception& e) {
            init_error = e.what();
            cli.reset();
        }
    }

    ~impl() { shutdown(1000ms); }

    ::mqtt::connect_options make_connect_options(std::chrono::milliseconds timeout) const {
        ::mqtt::connect_options co;
        co.set_clean_session(opts.clean_session);
        co.set_keep_alive_interval(static_cast<int>(opts.keep_alive.count()));
        co.set_connect_timeout(whole_seconds_at_least_one(timeout));
        co.set_automatic_reconnect(false);  // ours, see the class comment
        if (!opts.username.empty()) {
            co.set_user_name(opts.username);
            if (!opts.password.empty()) co.set_password(opts.password);
        }
        if (tls) {
            const auto& t = opts.tls;
            ::mqtt::ssl_options ssl;
            // Empty strings leave Paho's defaults: the system trust store, no client certificate.
            if (!t.ca_file.empty()) ssl.set_trust_store(t.ca_file);
            if (!t.cert_file.empty()) ssl.set_key_store(t.cert_file);
            if (!t.key_file.empty()) ssl.set_private_key(t.key_file);
            if (!t.key_password.empty()) ssl.set_private_key_password(t.key_password);
            // Both halves: the chain (enableServerCertAuth) and the host name (verify, which
            // Paho leaves off by default).
            ssl.set_enable_server_cert_auth(t.verify_server);
            ssl.set_verify(t.verify_server);
            co.set_ssl(std::move(ssl));
        }
        return co;
    }

    // Paho's thread. Every connect (first and later) lands here.
    void on_connected(const std::string&) {
        up.store(true, std::memory_order_release);
        if (const auto before = connects.fetch_add(1); before > 0) {
            spdlog::info("mqtt: reconnected to {} (reconnect #{})", opts.broker_url, before);
        }
        resubscribe();
    }

    // Paho's thread: only flag it; the supervisor thread does the waiting.
    void on_connection_lost(const std::string& cause) {
        up.store(false, std::memory_order_release);
        spdlog::warn("mqtt: connection to {} lost{}{}; reconnecting", opts.broker_url, cause.empty() ? "" : ": ", cause);
        {
            std::lock_guard lk(mu);
            lost = true;
        }
        cv.notify_all();
    }

    // Fire and forget: we are on Paho's thread and must not wait for the SUBACK here.
    void resubscribe() {
        std::vector<std::pair<std::string, int>> copy;
        {
            std::lock_guard lk(mu);
            copy = subscriptions;
        }
        for (const auto& [filter, qos] : copy) {
            try {
                cli->subscribe(filter, qos);
            } catch (const ::mqtt::exception& e) {
                spdlog::error("mqtt: cannot resubscribe to {}: {}", filter, e.what());
            }
        }
    }

    void start_supervisor() {
        std::lock_guard life(lifecycle_mu);
        if (supervisor.joinable()) return;
        {
            std::lock_guard lk(mu);
            stopping = false;  // `lost` is kept: the connection may already have dropped again
        }
        supervisor = std::thread([this] { supervise(); });
    }

    void stop_supervisor() {
        std::lock_guard life(lifecycle_mu);
        {
            std::lock_guard lk(mu);
            stopping = true;
        }
        cv.notify_all();
        if (supervisor.joinable()) supervisor.join();
        std::lock_guard lk(mu);
        lost = false;
    }

    // Waits for a lost connection, then retries with exponential backoff until connected or
    // stopped. Connect attempts are waited on in slices so that stopping is prompt.
    void supervise() {
        std::unique_lock lk(mu);
        for (;;) {
            cv.wait(lk, [this] { return stopping || lost; });
            if (stopping) return;
            lost = false;  // cleared before the attempt: a loss after success sets it again
            auto delay = opts.reconnect_min;
            for (;;) {
                if (cv.wait_for(lk, delay, [this] { return stopping; })) return;
                lk.unlock();
                const bool ok = try_reconnect_once();
                lk.lock();
                if (ok || stopping) break;
                delay = std::min(delay * 2, opts.reconnect_max);
            }
        }
    }

    bool try_reconnect_once() {
        try {
            if (cli->is_connected()) return true;
            auto tok = cli->connect(make_connect_options(reconnect_attempt_timeout));
            const auto deadline = std::chrono::steady_clock::now() + reconnect_attempt_timeout;
            while (!tok->wait_for(100ms)) {
                if (stopping_now() || std::chrono::steady_clock::now() >= deadline) return false;
            }
            return true;
        } catch (const ::mqtt::exception& e) {
            spdlog::debug("mqtt: reconnect to {} failed: {}", opts.broker_url, connect_failure(e, opts, tls));
            return false;
        }
    }

    bool stopping_now() {
        std::lock_guard lk(mu);
        return stopping;
    }

    void shutdown(std::chrono::milliseconds timeout) {
        stop_supervisor();
        up.store(false, std::memory_order_release);
        if (!cli) return;
        try {
            if (cli->is_connected()) cli->disconnect(timeout)->wait_for(timeout + 500ms);
        } catch (const ::mqtt::exception& e) {
            spdlog::debug("mqtt: disconnect from {}: {}", opts.broker_url, e.what());
        }
    }

    static constexpr std::chrono::milliseconds reconnect_attempt_timeout{5000};

    client_options opts;
    bool tls = false;
    std::string init_error;
    mutable std::mutex mu;                                      // guards the fields below
    std::condition_variable cv;
    bool stopping = false;
    bool lost = false;
    std::vector<std::pair<std::string, int>> subscriptions;    // filter, qos
    std::mutex lifecycle_mu;  // serializes starting and stopping the supervisor
    std::thread supervisor;
    std::atomic<std::uint64_t> connects{0};  ///< successful connects; all but the first are reconnects
    std::atomic<bool> up{false};  ///< see link_up()
    std::atomic<std::uint64_t> publish_failures{0};
    // Last: destroyed first, so that Paho's threads are gone before the state they call into.
    std::unique_ptr<::mqtt::async_client> cli;
};

client::client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

client::~client() = default;

const client_options& client::options() const { return impl_->opts; }

Result<bool> client::connect(std::chrono::milliseconds timeout) {
    auto& m = *impl_;
    const std::string prefix = "cannot connect to " + m.opts.broker_url + ": ";
    if (!m.cli) return {errc::invalid_argument, prefix + m.init_error};
    // Started before the attempt: it idles until a connection is lost, so it also covers an
    // attempt that Paho completes after we stopped waiting for it.
    m.start_supervisor();
    try {
        if (m.cli->is_connected()) return true;
        auto tok = m.cli->connect(m.make_connect_options(timeout));
        if (!tok->wait_for(timeout)) return {errc::io_error, prefix + "timed out after " + std::to_string(timeout.count()) + " ms"};
        // The connected() callback re-issued the subscriptions without waiting for their SUBACK;
        // a caller that goes on to announce readiness must know the broker now routes to us
        // (a message published before the SUBACK would be dropped). Subscribing again is
        // idempotent at the broker.
        std::vector<std::pair<std::string, int>> filters;
        {
            std::lock_guard lk(m.mu);
            filters = m.subscriptions;
        }
        for (const auto& [filter, qos] : filters)
            if (!m.cli->subscribe(filter, qos)->wait_for(timeout))
                return {errc::io_error, prefix + "no SUBACK for " + filter + " within " + std::to_string(timeout.count()) + " ms"};
    } catch (const ::mqtt::exception& e) {
        return {errc::io_error, prefix + connect_failure(e, m.opts, m.tls)};
    }
    spdlog::debug("mqtt: connected to {} as {}", m.opts.broker_url, m.opts.client_id);
    return true;
}

Result<bool> client::subscribe(std::string topic_filter, int qos) {
    auto& m = *impl_;
    if (!m.cli) return {errc::invalid_argument, "cannot subscribe to " + topic_filter + ": " + m.init_error};
    if (qos < 0 || qos > 2) return {errc::invalid_argument, "QoS must be 0, 1 or 2"};
    {
        std::lock_guard lk(m.mu);
        auto it = std::find_if(m.subscriptions.begin(), m.subscriptions.end(),
                               [&](const auto& s) { return s.first == topic_filter; });
        if (it != m.subscriptions.end()) it->second = qos;
        else m.subscriptions.emplace_back(topic_filter, qos);
    }
    try {
        if (!m.cli->is_connected()) return true;  // issued by the connected() callback
        // Not holding mu while waiting: the connected() callback needs it.
        if (!m.cli->subscribe(topic_filter, qos)->wait_for(10s))
            return {errc::io_error, "cannot subscribe to " + topic_filter + ": no SUBACK within 10 s"};
    } catch (const ::mqtt::exception& e) {
        return {errc::io_error, "cannot subscribe to " + topic_filter + ": " + e.what()};
    }
    return true;
}

void client::on_message(std::function<void(message&&)> cb) {
    auto& m = *impl_;
    if (!m.cli) return;
    if (!cb) {
        m.cli->set_message_callback(nullptr);
        return;
    }
    m.cli->set_message_callback([cb = std::move(cb)](::mqtt::const_message_ptr msg) {
        if (!msg) return;
        try {
            cb(message{msg->get_topic(), msg->get_payload_str(), msg->get_qos()});
        } catch (const std::exception& e) {
            spdlog::error("mqtt: message handler threw on {}: {}", msg->get_topic(), e.what());
        } catch (...) {
            spdlog::error("mqtt: message handler threw on {}", msg->get_topic());
        }
    });
}

bool client::publish(std::string_view topic, std::string_view payload, int qos, bool retain) {
    auto& m = *impl_;
    if (!m.cli) {
        ++m.publish_failures;
        return false;
    }
    try {
        m.cli->publish(std::string(topic), payload.data(), payload.size(), qos, retain);
        return true;
    } catch (const ::mqtt::exception& e) {
        // A refused publish is usually one of many: count it, log at debug level only.
        ++m.publish_failures;
        spdlog::debug("mqtt: publish on {} refused: {}", topic, e.what());
        return false;
    }
}

Result<::mqtt::delivery_token_ptr> client::publish_tracked(std::string_view topic, std::string_view payload, int qos) {
    auto& m = *impl_;
    if (!m.cli) {
        ++m.publish_failures;
        return {errc::invalid_argument, "cannot publish: " + m.init_error};
    }
    try {
        return m.cli->publish(std::string(topic), payload.data(), payload.size(), qos, false);
    } catch (const ::mqtt::exception& e) {
        ++m.publish_failures;
        return {errc::io_error, "publish on " + std::string(topic) + " refused: " + e.what()};
    }
}

bool client::connected() const {
    try {
        return impl_->cli && impl_->cli->is_connected();
    } catch (const ::mqtt::exception&) {
        return false;
    }
}

bool client::link_up() const noexcept { return impl_->up.load(std::memory_order_acquire); }

std::uint64_t client::reconnects() const {
    const auto n = impl_->connects.load();
    return n > 0 ? n - 1 : 0;
}
std::uint64_t client::connects() const { return impl_->connects.load(); }

std::uint64_t client::publish_failures() const { return impl_->publish_failures.load(); }

void client::disconnect(std::chrono::milliseconds timeout) { impl_->shutdown(timeout); }

Result<bool> wait_for_ack(const ::mqtt::delivery_token_ptr& token, std::chrono::milliseconds timeout) {
    if (!token) return {errc::invalid_argument, "no delivery token"};
    try {
        // try_wait only takes the token's lock; a condition-variable wait with a zero timeout
        // still goes through futex and, called once per publish, cut replay throughput 4x.
        if (timeout <= std::chrono::milliseconds::zero()) return token->try_wait();
        return token->wait_for(timeout);
    } catch (const ::mqtt::exception& e) {
        return {errc::io_error, std::string("publish failed: ") + e.what()};
    }
}

}  // namespace turbotwin::mqtt
