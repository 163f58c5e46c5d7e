#include "supervisor/config_push.hpp"

#include "common/log.hpp"
#include "ipc/channel.hpp"

namespace tlsward::supervisor {

void push_netproc_config(ipc::UvChannel& netproc, const Generation& g,
                         const std::vector<Child*>& connect) {
    for (const PreparedService& s : g.config.services) {
        ipc::NpService m;
        m.id = s.id;
        m.name = s.config.name;
        m.mode = s.config.mode;
        m.target = s.target;
        m.handshake_timeout_ms = s.config.handshake_timeout_ms;
        m.connect_timeout_ms = s.config.connect_timeout_ms;
        m.idle_timeout_ms = s.config.idle_timeout_ms;
        m.link = s.config.link;
        m.proxy_protocol = s.config.tls.proxy_protocol;
        m.accept_proxy = s.config.tls.accept_proxy;
        m.server_name = s.client.server_name;
        m.log_connections = s.config.log_connections;
        netproc.send(ipc::MsgType::np_service, 0, ipc::encode_body(m));
    }
    for (const ServiceListener& l : g.listeners) {
        ipc::NpListener lm{l.service_id, l.socket->bound};
        netproc.send(ipc::MsgType::np_listener, 0, ipc::encode_body(lm), l.socket->fd.get());
    }
    if (g.metrics) {
        ipc::NpMetricsListener mm{g.metrics->bound()};
        netproc.send(ipc::MsgType::np_metrics_listener, 0, ipc::encode_body(mm), g.metrics->fd());
    }
    for (Child* h : connect) connect_helper(*h, netproc);
    const GlobalConfig& global = g.config.config.global;
    ipc::NpConfigDone done;
    done.generation = g.number;
    done.handshake_queue_limit = global.handshake_queue_limit;
    done.max_jobs_per_helper = global.max_jobs_per_helper;
    done.global_read = global.read_rate;
    done.global_write = global.write_rate;
    done.max_connections = global.max_connections;
    netproc.send(ipc::MsgType::np_config_done, 0, ipc::encode_body(done));
}

void push_helper_config(Child& h, const PreparedConfig& config,
                        const ipc::CpTicketKeys* ticket_keys) {
    ipc::UvChannel& ch = *h.control;
    for (const PreparedService& s : config.services) {
        ipc::CpService m;
        m.id = s.id;
        m.name = s.config.name;
        m.role = s.config.mode;
        m.handshake_timeout_ms = s.config.handshake_timeout_ms;
        m.tls = service_tls(s, config.config.global);
        ch.send(ipc::MsgType::cp_service, 0, ipc::encode_body(m));
        for (const LoadedCertificate& cert : s.certificates) {
            ipc::CpCertificate cm;
            cm.service_id = s.id;
            cm.chain_pem = cert.chain_pem;
            cm.key_pem = cert.key_pem.clone();
            cm.names = cert.names;
            cm.ocsp_der = cert.ocsp_der;
            // The encoding is SecureBytes: wiped when freed, as cm's key is.
            ch.send(ipc::MsgType::cp_certificate, 0, ipc::encode_body(cm));
        }
        for (const ipc::CpTrust& t : trust_messages(s))
            ch.send(ipc::MsgType::cp_trust, 0, ipc::encode_body(t));
    }
    if (ticket_keys) {
        ch.send(ipc::MsgType::cp_ticket_keys, 0, ipc::encode_body(*ticket_keys));
    }
    ipc::CpConfigDone done{h.generation, h.slot};
    ch.send(ipc::MsgType::cp_config_done, 0, ipc::encode_body(done));
}

void push_ticket_keys(ChildTable& children, const ipc::CpTicketKeys& keys) {
    auto body = ipc::encode_body(keys);  // SecureBytes: wiped when freed
    for (auto& h : children.helpers())
        if (h->reachable()) h->control->send(ipc::MsgType::cp_ticket_keys, 0, body);
}

void connect_helper(Child& h, ipc::UvChannel& netproc) {
    auto pair = ipc::make_channel_pair();
    if (!pair) {
        LOG_ERROR("event=connect_helper_failed process=%s reason=\"%s\"", h.name().c_str(),
                  pair.message().c_str());
        return;
    }
    auto& [for_helper, for_netproc] = pair.value();
    h.control->send(ipc::MsgType::cp_netproc_channel, 0, {}, for_helper.get());
    ipc::NpHelper m{h.slot, h.generation};
    netproc.send(ipc::MsgType::np_helper, 0, ipc::encode_body(m), for_netproc.get());
}

}  // namespace tlsward::supervisor
