#include "supervisor/status_report.hpp"

#include "common/result.hpp"

namespace tlsward::supervisor {

namespace {

std::string duration_text(uint64_t ms) {
    uint64_t s = ms / 1000;
    if (s < 60) return strfmt("%llus", static_cast<unsigned long long>(s));
    if (s < 3600)
        return strfmt("%llum%02llus", static_cast<unsigned long long>(s / 60),
                      static_cast<unsigned long long>(s % 60));
    if (s < 86400)
        return strfmt("%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                      static_cast<unsigned long long>(s % 3600 / 60));
    return strfmt("%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>(s % 86400 / 3600));
}

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

size_t ready_helpers(const StatusReport& r, size_t* total) {
    size_t ready = 0;
    *total = 0;
    for (const ProcessReport& p : r.processes) {
        if (p.role != "crypto" || p.generation != r.generation) continue;
        ++*total;
        if (p.state == "ready") ++ready;
    }
    return ready;
}

}  // namespace

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char ch : s) {
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (ch < 0x20)
                    out += strfmt("\\u%04x", ch);
                else
                    out += static_cast<char>(ch);
        }
    }
    return out + "\"";
}

std::string render_status_line(const StatusReport& r) {
    size_t total = 0;
    size_t ready = ready_helpers(r, &total);
    uint64_t open = r.netproc ? r.netproc->connections_open : 0;
    return strfmt("%s: %llu connections, %.1f handshakes/s, helpers %zu/%zu, generation %u",
                  r.state.c_str(), ull(open), r.handshakes_per_second, ready, total, r.generation);
}

std::string render_status_text(const StatusReport& r) {
    std::string out;
    out += strfmt("tlsward %s, pid %d, %s, up %s, generation %u\n", r.version.c_str(),
                  static_cast<int>(r.pid), r.state.c_str(), duration_text(r.uptime_ms).c_str(),
                  r.generation);
    out += strfmt("configuration: %s\n", r.config_source.c_str());
    out += strfmt("reloads: %llu ok, %llu failed\n", ull(r.reloads_ok), ull(r.reloads_failed));
    if (!r.last_reload_error.empty())
        out += strfmt("last reload error: %s\n", r.last_reload_error.c_str());
    out += "\nprocesses:\n";
    for (const ProcessReport& p : r.processes) {
        out += strfmt("  %-12s pid %-8s generation %-4u %-9s restarts %llu", p.name.c_str(),
                      p.pid > 0 ? std::to_string(p.pid).c_str() : "-", p.generation,
                      p.state.c_str(), ull(p.restarts));
        if (p.pid > 0) out += ", up " + duration_text(p.uptime_ms);
        out += "\n";
    }
    out += "\n";
    if (r.netproc) {
        const ipc::NpStatus& n = *r.netproc;
        out += strfmt("connections: %llu open, %llu since netproc started\n",
                      ull(n.connections_open), ull(n.connections_total));
        out += strfmt(
            "handshakes: %llu ok, %llu failed, %llu refused, %u queued, %u in flight, %.1f/s\n",
            ull(n.handshakes_ok), ull(n.handshakes_failed), ull(n.refused), n.handshakes_queued,
            n.handshakes_in_flight, r.handshakes_per_second);
        out += strfmt("bytes: %llu from TLS peers, %llu to TLS peers\n", ull(n.bytes_from_tls),
                      ull(n.bytes_to_tls));
    } else {
        out += "connections: netproc has not reported yet\n";
    }
    out += strfmt("metrics: %s\n", r.metrics_listen.empty() ? "off" : r.metrics_listen.c_str());
    out += strfmt("\nservices (%zu):\n", r.services.size());
    for (const ServiceReport& s : r.services) {
        std::string listen;
        for (const std::string& l : s.listen) listen += (listen.empty() ? "" : ", ") + l;
        out += strfmt("  %s (%s): %s, %zu certificate%s\n", s.name.c_str(), s.mode.c_str(),
                      listen.empty() ? "no listener" : listen.c_str(), s.certificates,
                      s.certificates == 1 ? "" : "s");
        if (s.live)
            out += strfmt(
                "    %llu open, %llu total; handshakes %llu ok, %llu failed; bytes %llu from TLS "
                "peers, %llu to TLS peers\n",
                ull(s.live->connections_open), ull(s.live->connections_total),
                ull(s.live->handshakes_ok), ull(s.live->handshakes_failed),
                ull(s.live->bytes_from_tls), ull(s.live->bytes_to_tls));
    }
    return out;
}

std::string render_status_json(const StatusReport& r) {
    std::string o = "{";
    o += strfmt("\"version\":%s,\"pid\":%d,\"uptime_ms\":%llu,\"state\":%s,",
                json_string(r.version).c_str(), static_cast<int>(r.pid), ull(r.uptime_ms),
                json_string(r.state).c_str());
    o += strfmt("\"config\":%s,\"generation\":%u,", json_string(r.config_source).c_str(),
                r.generation);
    o += strfmt("\"reloads\":{\"ok\":%llu,\"failed\":%llu,\"last_error\":%s},", ull(r.reloads_ok),
                ull(r.reloads_failed),
                r.last_reload_error.empty() ? "null" : json_string(r.last_reload_error).c_str());
    o += "\"processes\":[";
    for (size_t i = 0; i < r.processes.size(); ++i) {
        const ProcessReport& p = r.processes[i];
        o += strfmt(
            "%s{\"role\":%s,\"name\":%s,\"pid\":%d,\"slot\":%u,\"generation\":%u,\"state\":%s,"
            "\"restarts\":%llu,\"uptime_ms\":%llu}",
            i ? "," : "", json_string(p.role).c_str(), json_string(p.name).c_str(),
            static_cast<int>(p.pid), p.slot, p.generation, json_string(p.state).c_str(),
            ull(p.restarts), ull(p.uptime_ms));
    }
    o += "],";
    size_t total = 0;
    size_t ready = ready_helpers(r, &total);
    o += strfmt("\"helpers\":{\"ready\":%zu,\"configured\":%zu},", ready, total);
    ipc::NpStatus n = r.netproc.value_or(ipc::NpStatus{});
    o += strfmt("\"connections\":{\"open\":%llu,\"total\":%llu},", ull(n.connections_open),
                ull(n.connections_total));
    o += strfmt(
        "\"handshakes\":{\"ok\":%llu,\"failed\":%llu,\"refused\":%llu,\"queued\":%u,"
        "\"in_flight\":%u,\"per_second\":%.2f},",
        ull(n.handshakes_ok), ull(n.handshakes_failed), ull(n.refused), n.handshakes_queued,
        n.handshakes_in_flight, r.handshakes_per_second);
    o += strfmt("\"bytes\":{\"from_tls\":%llu,\"to_tls\":%llu},", ull(n.bytes_from_tls),
                ull(n.bytes_to_tls));
    if (r.netproc)
        o += strfmt("\"netproc_report_age_ms\":%llu,", ull(r.netproc_report_age_ms));
    else
        o += "\"netproc_report_age_ms\":null,";
    o += "\"metrics\":" +
         (r.metrics_listen.empty() ? std::string("null") : json_string(r.metrics_listen)) + ",";
    o += "\"services\":[";
    for (size_t i = 0; i < r.services.size(); ++i) {
        const ServiceReport& s = r.services[i];
        o += strfmt("%s{\"id\":%u,\"name\":%s,\"mode\":%s,\"listen\":[", i ? "," : "", s.id,
                    json_string(s.name).c_str(), json_string(s.mode).c_str());
        for (size_t j = 0; j < s.listen.size(); ++j) o += (j ? "," : "") + json_string(s.listen[j]);
        o += strfmt("],\"certificates\":%zu", s.certificates);
        if (s.live)
            o += strfmt(
                ",\"connections\":{\"open\":%llu,\"total\":%llu},\"handshakes\":{\"ok\":%llu,"
                "\"failed\":%llu},\"bytes\":{\"from_tls\":%llu,\"to_tls\":%llu}",
                ull(s.live->connections_open), ull(s.live->connections_total),
                ull(s.live->handshakes_ok), ull(s.live->handshakes_failed),
                ull(s.live->bytes_from_tls), ull(s.live->bytes_to_tls));
        o += "}";
    }
    o += "]}\n";
    return o;
}

}  // namespace tlsward::supervisor
