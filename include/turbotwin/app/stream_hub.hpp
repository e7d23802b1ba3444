#pragma once
/// Live Server-Sent Events for dashboards (GET /api/v1/stream): every RUL update and every
/// alert change, as the MQTT outputs see them, pushed to each open stream.
///
///     event: rul
///     data: {"asset":"ENG-7","cycle":112,"rul":41.5,"rul_lo":30.1,"rul_hi":55.0,"severity":"warning",...}
///
///     event: alert
///     data: {"id":"ENG-7-1","asset":"ENG-7","state":"active",...}   (app::alert_json)
///
/// The data lines are the documents published on turbotwin/v1/engines/{id}/rul and
/// turbotwin/v1/alerts/{id}. There is no replay: a client that (re)connects reads the current
/// state from REST and follows the stream from there.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "turbotwin/app/fleet.hpp"
#include "turbotwin/http/server.hpp"

namespace turbotwin::app {

/// The open event streams. Thread-safe: publish from the fleet's workers, open from HTTP
/// handlers. Publishing never waits for a client (see http::event_stream), and costs one atomic
/// load when nobody listens.
class stream_hub {
public:
    stream_hub() = default;
    /// RUL frames name `origin` (which must outlive the hub), as the MQTT messages do.
    explicit stream_hub(const twin::provenance* origin) : origin_(origin) {}
    stream_hub(const stream_hub&) = delete;
    stream_hub& operator=(const stream_hub&) = delete;
    ~stream_hub();  ///< closes the streams still open

    /// Registers a new client and returns the streaming answer that serves it. `asset`: only
    /// that engine's events (the caller has validated the id).
    http::response open(std::optional<std::string> asset = std::nullopt);
    /// An `event: rul` frame to every stream that wants `asset`.
    void publish_rul(const std::string& asset, const twin::twin_update& u);
    /// An `event: alert` frame to every stream that wants the alert's engine.
    void publish_alert(const alerting::alert& a);
    /// Streams still open (or waiting for their header to go out).
    std::size_t clients() const;
    /// Clients disconnected so far for falling too far behind.
    std::uint64_t dropped_slow() const;
    /// Prometheus text: turbotwin_stream_clients, turbotwin_stream_dropped_total.
    std::string prometheus() const;
    /// Ends every stream (what is queued is still sent).
    void close_all();

private:
    const twin::provenance* origin_ = nullptr;
    struct client {
        std::shared_ptr<http::event_stream> stream;
        std::optional<std::string> asset;  ///< only this engine's events
    };
    /// Pushes `frame` (built only if some client wants `asset`) and forgets ended streams.
    template <class MakeFrame>
    void publish(const std::string& asset, MakeFrame&& make_frame);
    void prune_locked() const;

    mutable std::mutex mu_;
    mutable std::vector<client> clients_;          // guarded by mu_
    mutable std::uint64_t dropped_slow_ = 0;       // guarded by mu_
    mutable std::atomic<std::size_t> listening_{0};  ///< clients_.size(), readable without the lock
};

/// An output_sink that passes everything to `next` (MQTT in the server) and also shows RUL
/// updates and alert changes on the hub's streams.
class stream_tee final : public output_sink {
public:
    stream_tee(output_sink& next, stream_hub& hub) : next_(next), hub_(hub) {}
    void rul(const std::string& asset, const twin::twin_update& u) override;
    void alert(const alerting::alert& a) override;
    void rejected(const std::string& topic, const std::string& reason) override;

private:
    output_sink& next_;
    stream_hub& hub_;
};

}  // namespace turbotwin::app
