#pragma once
/// A small adapter over Paho C++'s mqtt::async_client: connect with our own reconnect
/// backoff, remembered subscriptions, non-throwing publish. No mqtt::exception crosses it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <mqtt/delivery_token.h>

#include "turbotwin/core/result.hpp"

namespace turbotwin::mqtt {

/// TLS to the broker (docs/security.md). Files are PEM; they are read by OpenSSL at each
/// connect, and checked for readability by check_options() before the first one.
struct tls_options {
    std::string ca_file;       ///< CAs trusted for the broker's certificate; empty: the system's store
    std::string cert_file;     ///< optional client certificate (chain), for brokers that require one
    std::string key_file;      ///< the client certificate's private key; empty: it is in cert_file
    std::string key_password;  ///< only if key_file is encrypted; never logged
    /// Check the broker's certificate chain against ca_file and its name (or IP) against the
    /// URL's host. Off only for tests: it makes the connection open to a man in the middle.
    bool verify_server = true;

    bool any_file() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

struct client_options {
    /// tcp://host:port, or ssl://host:port / mqtts://host:port for TLS. With a CA or client
    /// certificate file in `tls`, a tcp:// (or mqtt://) URL is taken as ssl:// to the same port.
    std::string broker_url = "tcp://127.0.0.1:1883";
    std::string client_id;                   ///< empty: a generated unique id ("turbotwin-" + 12 hex)
    bool clean_session = true;               ///< false keeps the broker session (serve)
    std::string username;                    ///< optional
    std::string password;                    ///< optional, needs a username; never logged
    tls_options tls;                         ///< used when uses_tls() says so
    std::chrono::seconds keep_alive{20};     ///< MQTT keep-alive interval
    /// Paho's limit on publishes queued in the client and not yet written (and, while
    /// disconnected, the offline buffer). Paho's default of 100 makes a fast publisher fail
    /// with "No more messages can be buffered".
    int max_buffered = 100000;
    std::chrono::milliseconds reconnect_min{500};   ///< first reconnect delay, doubled per failure
    std::chrono::milliseconds reconnect_max{8000};  ///< backoff cap
};

/// True when the connection is TLS: an ssl://, mqtts:// or wss:// URL, or a CA or client
/// certificate file given in `tls`.
bool uses_tls(const client_options& options);

/// Checks what can be checked before connecting, with a message that names the problem:
/// the URL's scheme, a password without a username, a private key without a certificate, and
/// that every TLS file given is a readable regular file. The client's connect() fails with the
/// same message; call this first to fail fast at start-up.
Result<bool> check_options(const client_options& options);

/// One arriving message, copied out of Paho's buffers.
struct message {
    std::string topic;
    std::string payload;
    int qos = 0;
};

/// Connection to one broker. Not copyable or movable (Paho's callbacks hold its address).
///
/// Reconnect is ours rather than Paho's automatic reconnect: Paho counts its retry interval in
/// whole seconds (minimum 1 s), and we want the first retry after 0.5 s.
class client {
public:
    explicit client(client_options options);
    ~client();  ///< stops reconnecting and disconnects (up to 1 s)
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Connects, blocking up to `timeout`. Afterwards a lost connection is re-established in
    /// the background with backoff reconnect_min .. reconnect_max. Returns true at once when
    /// already connected. On success every subscription made so far has its SUBACK, so the
    /// broker already routes to this client. Error detail: "cannot connect to URL: reason".
    Result<bool> connect(std::chrono::milliseconds timeout);

    /// Subscribes (waiting up to 10 s for the SUBACK when connected) and remembers the filter:
    /// every remembered filter is re-issued in the connected() callback after each reconnect,
    /// because Paho's reconnect does not always restore them. When not connected the filter is
    /// only remembered and issued on the next connect.
    Result<bool> subscribe(std::string topic_filter, int qos);

    /// Called on Paho's thread for every arriving message: keep it tiny (make the message
    /// durable, hand it off). Set it before connect(). An exception thrown by `cb` is logged
    /// and swallowed.
    void on_message(std::function<void(message&&)> cb);

    /// Non-blocking publish. Returns false, and counts a publish failure, when Paho refuses the
    /// message (buffer full, not connected, invalid topic...). Never throws.
    bool publish(std::string_view topic, std::string_view payload, int qos, bool retain = false);

    /// Publish and get Paho's token, to wait for the broker's acknowledgement (QoS 1: PUBACK;
    /// QoS 0: written to the socket) with wait_for_ack(). A refusal is an error and counts as a
    /// publish failure.
    Result<::mqtt::delivery_token_ptr> publish_tracked(std::string_view topic, std::string_view payload, int qos);

    bool connected() const;
    /// What the last connect or connection loss said, without asking Paho: connected() takes
    /// Paho's client lock, which its send and receive threads hold often, and cost the worker
    /// about 6% of its time when asked once per RUL message. For hot paths that only choose
    /// whether to offer a message; may lag a loss by the time Paho takes to notice it.
    bool link_up() const noexcept;
    std::uint64_t reconnects() const;        ///< successful reconnects after the first connect
    std::uint64_t connects() const;          ///< successful connects, the first included
    std::uint64_t publish_failures() const;  ///< publishes Paho refused

    /// Stops reconnecting and disconnects, waiting up to `timeout` for in-flight messages.
    void disconnect(std::chrono::milliseconds timeout);

    const client_options& options() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Waits up to `timeout` (zero: just look, cheaply) for a tracked publish: true when the broker
/// acknowledged it, false while still pending, an error when Paho reports it failed. A lost
/// connection does not fail pending tokens promptly: callers bound the wait themselves.
/// Never throws.
Result<bool> wait_for_ack(const ::mqtt::delivery_token_ptr& token, std::chrono::milliseconds timeout);

}  // namespace turbotwin::mqtt
