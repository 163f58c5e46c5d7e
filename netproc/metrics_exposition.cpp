#include "netproc/metrics_exposition.hpp"

#include "common/result.hpp"

namespace tlsward::netproc {

namespace {

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

// Label values: service names are [a-zA-Z0-9_.-] already; escaped anyway
// so the format can never be broken by a name.
std::string label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

class Writer {
public:
    void family(const char* name, const char* type, const char* help) {
        out_ += strfmt("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
    }
    void sample(const char* name, const std::string& labels, uint64_t v) {
        out_ += name;
        if (!labels.empty()) out_ += "{" + labels + "}";
        out_ += strfmt(" %llu\n", ull(v));
    }
    void sample_f(const char* name, const std::string& labels, double v) {
        out_ += name;
        if (!labels.empty()) out_ += "{" + labels + "}";
        out_ += strfmt(" %.6f\n", v);
    }
    // `scale` turns the histogram's integer unit into the metric's (1e-6
    // for microseconds to seconds, 1 for bytes).
    template <size_t N>
    void histogram(const char* name, const char* help, const Histogram<N>& h, double scale) {
        family(name, "histogram", help);
        uint64_t cumulative = 0;
        std::string bucket = std::string(name) + "_bucket";
        for (size_t i = 0; i < N; ++i) {
            cumulative += h.count_in(i);
            std::string le = scale == 1.0
                                 ? strfmt("%llu", ull(h.bounds()[i]))
                                 : strfmt("%g", static_cast<double>(h.bounds()[i]) * scale);
            sample(bucket.c_str(), "le=\"" + le + "\"", cumulative);
        }
        cumulative += h.count_in(N);
        sample(bucket.c_str(), "le=\"+Inf\"", cumulative);
        if (scale == 1.0)
            sample((std::string(name) + "_sum").c_str(), "", h.sum());
        else
            sample_f((std::string(name) + "_sum").c_str(), "",
                     static_cast<double>(h.sum()) * scale);
        sample((std::string(name) + "_count").c_str(), "", cumulative);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

}  // namespace

std::string render_exposition(const MetricsSnapshot& s) {
    Writer w;
    auto per_service = [&](const char* name, const char* type, const char* help, auto get) {
        w.family(name, type, help);
        for (const auto& [svc, c] : s.services)
            w.sample(name, "service=\"" + label(svc) + "\"", get(c));
    };

    per_service("tlsward_connections_open", "gauge", "Connections open now.",
                [](const ServiceCounters& c) { return c.connections_open; });
    per_service("tlsward_connections_total", "counter",
                "Connections accepted since netproc started (refused ones included).",
                [](const ServiceCounters& c) { return c.connections_total; });
    w.family("tlsward_connections_refused_total", "counter",
             "Connections closed at once: limit (max_connections), queue_full (handshake "
             "queue), overloaded (would miss its handshake deadline).");
    for (const auto& [svc, c] : s.services) {
        std::string l = "service=\"" + label(svc) + "\",reason=";
        w.sample("tlsward_connections_refused_total", l + "\"limit\"", c.refused_limit);
        w.sample("tlsward_connections_refused_total", l + "\"queue_full\"", c.refused_queue_full);
        w.sample("tlsward_connections_refused_total", l + "\"overloaded\"", c.refused_shed);
    }
    w.family("tlsward_handshakes_total", "counter", "Handshakes finished, by result.");
    for (const auto& [svc, c] : s.services) {
        std::string l = "service=\"" + label(svc) + "\",result=";
        w.sample("tlsward_handshakes_total", l + "\"ok\"", c.handshakes_ok);
        w.sample("tlsward_handshakes_total", l + "\"failed\"", c.handshakes_failed);
    }
    w.family("tlsward_handshake_failures_total", "counter",
             "Failed handshakes by reason (alert_sent, alert_received, timeout, peer_closed, "
             "io_error, internal, unknown_service, overloaded, helper_timeout, "
             "handoff_rejected).");
    for (const auto& [svc, c] : s.services)
        for (size_t i = 0; i < kHandshakeFailureSlots; ++i)
            if (const char* reason = handshake_failure_name(i))
                w.sample("tlsward_handshake_failures_total",
                         "service=\"" + label(svc) + "\",reason=\"" + reason + "\"",
                         c.failed_by_reason[i]);
    per_service("tlsward_bytes_received_total", "counter",
                "Plaintext bytes received from TLS peers.",
                [](const ServiceCounters& c) { return c.bytes_from_tls; });
    per_service("tlsward_bytes_sent_total", "counter", "Plaintext bytes sent to TLS peers.",
                [](const ServiceCounters& c) { return c.bytes_to_tls; });
    w.family("tlsward_key_updates_total", "counter",
             "TLS 1.3 KeyUpdates, sent by netproc or received from peers.");
    for (const auto& [svc, c] : s.services) {
        std::string l = "service=\"" + label(svc) + "\",direction=";
        w.sample("tlsward_key_updates_total", l + "\"sent\"", c.key_updates_sent);
        w.sample("tlsward_key_updates_total", l + "\"received\"", c.key_updates_received);
    }
    w.family("tlsward_throttled_seconds_total", "counter",
             "Time connections waited for rate-limit tokens (read and write added).");
    for (const auto& [svc, c] : s.services)
        w.sample_f("tlsward_throttled_seconds_total", "service=\"" + label(svc) + "\"",
                   static_cast<double>(c.throttled_ms) / 1000.0);

    const MetricsRegistry& r = *s.registry;
    w.histogram("tlsward_handshake_queue_wait_seconds",
                "Time a handshake waited in netproc for a free helper.", r.handshake_queue_wait,
                1e-6);
    w.histogram("tlsward_handshake_helper_seconds",
                "Time from a job leaving netproc to the helper's answer.", r.handshake_helper_time,
                1e-6);
    w.histogram("tlsward_record_size_bytes", "Plaintext bytes per record sent to TLS peers.",
                r.record_sizes, 1.0);

    w.family("tlsward_handshake_queue_depth", "gauge", "Handshakes waiting for a helper.");
    w.sample("tlsward_handshake_queue_depth", "", s.handshake_queue_depth);
    w.family("tlsward_handshakes_in_flight", "gauge", "Handshakes a helper is working on.");
    w.sample("tlsward_handshakes_in_flight", "", s.handshakes_in_flight);
    w.family("tlsward_helpers_ready", "gauge",
             "Crypto helpers of the serving generation connected to netproc.");
    w.sample("tlsward_helpers_ready", "", s.helpers_live);

    if (r.have_supervisor) {
        const ipc::NpSupervisorStats& sv = r.supervisor;
        w.family("tlsward_config_generation", "gauge", "Configuration generation serving.");
        w.sample("tlsward_config_generation", "", sv.generation);
        w.family("tlsward_reloads_total", "counter", "Reloads since tlsward started, by result.");
        w.sample("tlsward_reloads_total", "result=\"ok\"", sv.reloads_ok);
        w.sample("tlsward_reloads_total", "result=\"failed\"", sv.reloads_failed);
        w.family("tlsward_process_restarts_total", "counter",
                 "Children the supervisor started again after they died.");
        w.sample("tlsward_process_restarts_total", "role=\"crypto\"", sv.helper_restarts);
        w.sample("tlsward_process_restarts_total", "role=\"netproc\"", sv.netproc_restarts);
        w.family("tlsward_helper_handshakes_total", "counter",
                 "Handshakes as the crypto helpers count them (their PONGs, up to a second "
                 "old): ok, failed, aborted (dropped when netproc went away).");
        w.sample("tlsward_helper_handshakes_total", "result=\"ok\"", sv.helper_handshakes_ok);
        w.sample("tlsward_helper_handshakes_total", "result=\"failed\"",
                 sv.helper_handshakes_failed);
        w.sample("tlsward_helper_handshakes_total", "result=\"aborted\"",
                 sv.helper_handshakes_aborted);
        w.family("tlsward_helper_busy_seconds_total", "counter",
                 "Time the helpers spent on handshakes that finished, as they measure it.");
        w.sample_f("tlsward_helper_busy_seconds_total", "",
                   static_cast<double>(sv.helper_handshake_ms) / 1000.0);
    }

    w.family("tlsward_log_lines_suppressed_total", "counter",
             "Connection log lines left out by the flood limit.");
    w.sample("tlsward_log_lines_suppressed_total", "", s.log_lines_suppressed);
    w.family("tlsward_metrics_requests_total", "counter",
             "Requests to this endpoint: ok, bad (400/404/405/431), timeout (408), rejected "
             "(too many clients at once).");
    w.sample("tlsward_metrics_requests_total", "result=\"ok\"", r.scrapes);
    w.sample("tlsward_metrics_requests_total", "result=\"bad\"", r.bad_requests);
    w.sample("tlsward_metrics_requests_total", "result=\"timeout\"", r.timeouts);
    w.sample("tlsward_metrics_requests_total", "result=\"rejected\"", r.clients_rejected);
    w.family("tlsward_metrics_render_seconds", "gauge",
             "What building the previous answer of this endpoint took.");
    w.sample_f("tlsward_metrics_render_seconds", "", static_cast<double>(r.last_render_us) * 1e-6);
    return w.take();
}

}  // namespace tlsward::netproc
