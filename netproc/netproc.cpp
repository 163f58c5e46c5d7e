#include "netproc/netproc.hpp"

#include "common/log.hpp"
#include "ipc/messages.hpp"
#include "netproc/metrics_exposition.hpp"

namespace tlsward::netproc {

namespace {
// 128 KiB holds seven full records, so one recvmsg from the target fills
// seven records and one send to the client carries them (bench: 32 KiB
// blocks cost ~1.05 s of CPU per GB, 128 KiB ~0.64 s). Blocks are held only
// while bytes wait: an idle connection has none.
constexpr size_t kBlockSize = 128 * 1024;
// At most 32 MiB of drained blocks kept for reuse.
constexpr size_t kMaxFreeBlocks = 256;
// After the drain time, connections get this long to flush close_notify.
constexpr uint64_t kFinalFlushMs = 2000;
}  // namespace

const NetProc::Accept NetProc::kFromSupervisor[] = {
    {ipc::MsgType::np_service, kConfiguring, &NetProc::on_service},
    {ipc::MsgType::np_listener, kConfiguring, &NetProc::on_listener},
    {ipc::MsgType::np_metrics_listener, kConfiguring, &NetProc::on_metrics_listener},
    {ipc::MsgType::np_config_done, kConfiguring, &NetProc::on_config_done},
    {ipc::MsgType::np_helper, kAnyPhase, &NetProc::on_helper},
    {ipc::MsgType::np_supervisor_stats, kConfigured, &NetProc::on_supervisor_stats},
    {ipc::MsgType::ping, kConfigured, &NetProc::on_ping},
    {ipc::MsgType::shutdown, kAnyPhase, &NetProc::on_shutdown},
};

const char* NetProc::phase_name(Phase p) {
    switch (p) {
        case Phase::starting:
            return "starting";
        case Phase::running:
            return "running";
        case Phase::draining:
            return "draining";
    }
    return "?";
}

NetProc::NetProc(uv_loop_t* loop, FdPoller* poller, const ChildArgs& args, UniqueFd control)
    : loop_(loop),
      args_(args),
      buffers_(kBlockSize, kMaxFreeBlocks),
      helpers_(loop, HelperPool::Callbacks{
                         [this](uint64_t id, ipc::HandshakeDone&& hd) {
                             auto it = connections_.find(id);
                             if (it != connections_.end())
                                 it->second->on_handshake_done(std::move(hd));
                         },
                         [this](uint64_t id, const ipc::HandshakeFailed& f) {
                             auto it = connections_.find(id);
                             if (it != connections_.end()) it->second->on_handshake_failed(f);
                         },
                         [this](uint32_t generation) {
                             control_->send(ipc::MsgType::np_retired, 0,
                                            ipc::encode_body(ipc::NpRetired{generation}));
                         },
                         [this](uint32_t slot, uint32_t generation, const std::string& why) {
                             control_->send(
                                 ipc::MsgType::np_helper_failed, 0,
                                 ipc::encode_body(ipc::NpHelperFailed{slot, generation, why}));
                         }}),
      throttle_(loop),
      limits_(loop),
      metrics_server_(loop, metrics_, [this] { return render_metrics(); }),
      graveyard_(loop),
      drain_timer_(loop, [] {}) {
    env_.loop = loop;
    env_.poller = poller;
    env_.buffers = &buffers_;
    env_.helpers = &helpers_;
    env_.throttle = &throttle_;
    env_.limits = &limits_;
    env_.metrics = &metrics_;
    helpers_.set_metrics(&metrics_);
    env_.closed = [this](Connection* c) { on_connection_closed(c); };
    control_ = std::make_unique<ipc::UvChannel>(
        loop, std::move(control), "supervisor",
        [this](ipc::Message&& m) { on_control_message(std::move(m)); },
        [this](const Error& e) { on_control_failed(e); });
}

NetProc::~NetProc() {
    listeners_.clear();
    staged_listeners_.clear();
    for (auto& [id, c] : connections_) c->finish();
    connections_.clear();
    graveyard_.flush();
}

void NetProc::protocol_violation(const std::string& what) {
    LOG_ERROR("event=protocol_violation peer=supervisor reason=\"%s\"", what.c_str());
    stop(1);
}

void NetProc::on_control_failed(const Error& e) {
    if (e.kind == ErrorKind::peer_closed) {
        LOG_INFO("event=exit reason=\"supervisor closed the control channel\"");
        stop(0);
    } else {
        protocol_violation(e.message);
    }
}

void NetProc::on_control_message(ipc::Message&& m) {
    const Accept* accept = nullptr;
    for (const Accept& a : kFromSupervisor)
        if (a.type == m.type()) accept = &a;
    if (!accept)
        return protocol_violation(
            strfmt("message %s is not accepted from the supervisor", ipc::msg_type_name(m.type())));
    if (!(accept->phases & static_cast<uint8_t>(phase_)))
        return protocol_violation(strfmt("message %s is not accepted from the supervisor while %s",
                                         ipc::msg_type_name(m.type()), phase_name(phase_)));
    if (Status s = (this->*accept->handler)(m); !s) protocol_violation(s.message());
}

// --- supervisor -> netproc -----------------------------------------------------

Status NetProc::on_service(ipc::Message& m) {
    auto s = ipc::decode_message<ipc::NpService>(m);
    if (!s) return s.error();
    auto svc = std::make_shared<Service>();
    svc->config = std::move(s.value());
    staged_services_[svc->config.id] = svc;
    return {};
}

Status NetProc::on_listener(ipc::Message& m) {
    auto l = ipc::decode_message<ipc::NpListener>(m);
    if (!l) return l.error();
    uint32_t sid = l->service_id;
    if (!staged_services_.count(sid))
        return err(ErrorKind::protocol, "NP_LISTENER for unknown service %u", sid);
    staged_listeners_.push_back(std::make_unique<Listener>(
        loop_, sid, l->address, m.take_fd(),
        [this, sid](UniqueFd fd, const SocketAddress& p) { on_accept(sid, std::move(fd), p); }));
    return {};
}

Status NetProc::on_metrics_listener(ipc::Message& m) {
    auto l = ipc::decode_message<ipc::NpMetricsListener>(m);
    if (!l) return l.error();
    staged_metrics_.emplace(l->address, m.take_fd());
    return {};
}

Status NetProc::on_supervisor_stats(ipc::Message& m) {
    auto st = ipc::decode_message<ipc::NpSupervisorStats>(m);
    if (!st) return st.error();
    metrics_.supervisor = st.value();
    metrics_.have_supervisor = true;
    return {};
}

Status NetProc::on_helper(ipc::Message& m) {
    auto h = ipc::decode_message<ipc::NpHelper>(m);
    if (!h) return h.error();
    helpers_.add_helper(h->slot, h->generation, m.take_fd());
    return {};
}

Status NetProc::on_config_done(ipc::Message& m) {
    auto d = ipc::decode_message<ipc::NpConfigDone>(m);
    if (!d) return d.error();
    commit_config(d.value());
    return {};
}

Status NetProc::on_ping(ipc::Message& m) {
    auto p = ipc::decode_message<ipc::Ping>(m);
    if (!p) return p.error();
    control_->send(ipc::MsgType::np_status, m.request_id(), ipc::encode_body(status(p->seq)));
    return {};
}

Status NetProc::on_shutdown(ipc::Message& m) {
    auto s = ipc::decode_message<ipc::Shutdown>(m);
    if (!s) return s.error();
    begin_shutdown(s->drain_ms);
    return {};
}

// -------------------------------------------------------------------------------

void NetProc::commit_config(const ipc::NpConfigDone& done) {
    phase_ = Phase::running;
    generation_ = done.generation;
    for (auto& [id, s] : staged_services_) {
        s->generation = done.generation;
        s->buckets = throttle_.service_buckets(s->config.name, s->config.link.service_read,
                                               s->config.link.service_write);
    }
    throttle_.configure_global(done.global_read, done.global_write);
    limits_.set_global_max(done.max_connections);
    // Connections keep the Service they were accepted for; the replaced
    // ones are kept for their counters until the last of those closes.
    for (auto& [id, old] : services_) replaced_services_.push_back(std::move(old));
    services_ = std::move(staged_services_);
    staged_services_.clear();
    // Handshakes still waiting for a helper go to the new generation, by
    // service id (the supervisor keeps ids stable across reloads); those of
    // a service the reload removed cannot.
    ipc::HandshakeFailed removed;
    removed.reason = ipc::FailReason::unknown_service;
    removed.detail = "the service was removed by a reload";
    helpers_.fail_queued(
        [this](const HandshakeRequest& r) { return services_.count(r.job.service_id) == 0; },
        removed);
    // The supervisor sends every listener of the new generation (copies of
    // the sockets it keeps), so the old set is simply replaced.
    listeners_ = std::move(staged_listeners_);
    staged_listeners_.clear();
    helpers_.set_generation(done.generation);
    helpers_.set_limits(done.handshake_queue_limit, done.max_jobs_per_helper);
    // Never while draining (kFromSupervisor accepts no configuration then).
    for (auto& l : listeners_) l->start();
    // The metrics socket, too, comes with every configuration; none: off.
    if (staged_metrics_)
        metrics_server_.listen(staged_metrics_->first, std::move(staged_metrics_->second));
    else
        metrics_server_.stop_listening();
    staged_metrics_.reset();
    LOG_INFO("event=config_applied generation=%u services=%zu listeners=%zu metrics=%s",
             generation_, services_.size(), listeners_.size(),
             metrics_server_.listening() ? "on" : "off");
    // READY after every configuration: for a reload it tells the
    // supervisor that new handshakes now go to the new generation.
    ipc::Ready r{ipc::ProcessRole::netproc, generation_, args_.slot};
    control_->send(ipc::MsgType::ready, 0, ipc::encode_body(r));
    helpers_.check_retired();
}

std::map<std::string, ServiceCounters> NetProc::counters_by_service() {
    // Replaced services no connection uses any more are folded into the
    // running totals of their name and let go.
    for (auto it = replaced_services_.begin(); it != replaced_services_.end();) {
        if (it->use_count() == 1) {
            gone_counters_[(*it)->config.name].add((*it)->counters);
            it = replaced_services_.erase(it);
        } else {
            ++it;
        }
    }
    std::map<std::string, ServiceCounters> by_name = gone_counters_;
    for (const auto& s : replaced_services_) by_name[s->config.name].add(s->counters);
    for (const auto& [id, s] : services_) by_name[s->config.name].add(s->counters);
    return by_name;
}

std::string NetProc::render_metrics() {
    MetricsSnapshot snap;
    snap.services = counters_by_service();
    snap.generation = generation_;
    snap.handshake_queue_depth = helpers_.queue_depth();
    snap.handshakes_in_flight = helpers_.in_flight();
    snap.helpers_live = helpers_.live_helpers(generation_);
    snap.log_lines_suppressed = connection_log_lines_suppressed();
    snap.registry = &metrics_;
    return render_exposition(snap);
}

ipc::NpStatus NetProc::status(uint64_t seq) {
    auto by_name = counters_by_service();
    ServiceCounters sum;
    for (const auto& [name, c] : by_name) sum.add(c);

    ipc::NpStatus st;
    st.seq = seq;
    st.generation = generation_;
    st.connections_open = connections_.size();
    st.connections_total = next_conn_id_ - 1;
    st.handshakes_ok = sum.handshakes_ok;
    st.handshakes_failed = sum.handshakes_failed;
    st.refused = sum.refused_queue_full + sum.refused_shed + sum.refused_limit;
    st.handshakes_queued = static_cast<uint32_t>(helpers_.queue_depth());
    st.handshakes_in_flight = static_cast<uint32_t>(helpers_.in_flight());
    st.helpers = static_cast<uint32_t>(helpers_.live_helpers(generation_));
    st.bytes_from_tls = sum.bytes_from_tls;
    st.bytes_to_tls = sum.bytes_to_tls;
    for (const auto& [id, s] : services_) {
        if (st.services.size() == ipc::kMaxStatusServices) break;
        const ServiceCounters& c = by_name[s->config.name];
        ipc::NpServiceStatus ss;
        ss.service_id = id;
        ss.connections_open = c.connections_open;
        ss.connections_total = c.connections_total;
        ss.handshakes_ok = c.handshakes_ok;
        ss.handshakes_failed = c.handshakes_failed;
        ss.bytes_from_tls = c.bytes_from_tls;
        ss.bytes_to_tls = c.bytes_to_tls;
        st.services.push_back(ss);
    }
    return st;
}

void NetProc::on_accept(uint32_t service_id, UniqueFd fd, const SocketAddress& peer) {
    auto it = services_.find(service_id);
    if (it == services_.end() || phase_ == Phase::draining) return;  // fd closes on return
    uint64_t id = next_conn_id_++;
    auto conn = std::make_unique<Connection>(env_, id, it->second, std::move(fd), peer);
    Connection* c = conn.get();
    connections_.emplace(id, std::move(conn));
    LOG_DEBUG("event=accept conn=%llu service=%s peer=%s", static_cast<unsigned long long>(id),
              it->second->config.name.c_str(), peer.to_string().c_str());
    c->start();  // a refused connection logs why and closes itself
}

void NetProc::on_connection_closed(Connection* c) {
    auto it = connections_.find(c->id());
    if (it == connections_.end()) return;
    graveyard_.defer(std::move(it->second));
    connections_.erase(it);
    if (phase_ == Phase::draining) maybe_exit();
}

void NetProc::begin_shutdown(uint32_t drain_ms) {
    if (phase_ == Phase::draining) return;
    phase_ = Phase::draining;
    // Stop accepting: our copies of the listening sockets close here, the
    // supervisor closes its own, so new connection attempts are refused
    // instead of waiting in a backlog nobody reads.
    listeners_.clear();
    staged_listeners_.clear();
    metrics_server_.stop_listening();
    LOG_INFO("event=draining connections=%zu drain_ms=%u", connections_.size(), drain_ms);
    drain_timer_.set_callback([this] {
        LOG_INFO("event=drain_timeout connections=%zu", connections_.size());
        std::vector<Connection*> open;
        for (auto& [id, c] : connections_) open.push_back(c.get());
        for (Connection* c : open) c->finish();
        drain_timer_.set_callback([this] { stop(0); });
        drain_timer_.start(kFinalFlushMs);
    });
    drain_timer_.start(drain_ms);
    maybe_exit();
}

void NetProc::maybe_exit() {
    if (phase_ == Phase::draining && connections_.empty()) stop(0);
}

void NetProc::stop(int code) {
    exit_code_ = code;
    uv_stop(loop_);
}

}  // namespace tlsward::netproc
