#include "cryptoproc/helper.hpp"

#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <type_traits>
#include <variant>

#include "common/log.hpp"
#include "common/log_limiter.hpp"
#include "common/tls_suites.hpp"
#include "cryptoproc/fault_injection.hpp"
#include "ipc/handoff.hpp"

namespace tlsward::cryptoproc {

namespace {
// Failed handshakes come in floods from bad clients: the first 20 a second
// are logged in full, the rest counted; the next line written carries the
// count (netproc's close line has the same budget).
LogBudget g_failure_log(1000, 20);

std::string suppressed_tail() {
    uint64_t n = g_failure_log.take_suppressed();
    return n ? strfmt(" suppressed=%llu", static_cast<unsigned long long>(n)) : std::string();
}
}  // namespace

namespace {

using ipc::MsgType;

// How long a clean exit waits for replies still queued to netproc.
constexpr uint64_t kExitFlushMs = 1000;

const char* role_name(ipc::TlsRole r) {
    return r == ipc::TlsRole::server ? "server" : "client";
}

Status check_channel_fd(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0) return err(ErrorKind::io, "fstat: %s", strerror(errno));
    int type = 0;
    socklen_t len = sizeof type;
    if (!S_ISSOCK(st.st_mode) || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
        type != SOCK_SEQPACKET)
        return err(ErrorKind::protocol, "the fd is not a SOCK_SEQPACKET socket");
    return {};
}

// Encodes and sends a body (its encoding wipes itself when freed). False
// when the body could not be encoded (UvChannel logs it; the channel
// stays up) or the channel failed.
template <class T>
bool send_body(ipc::UvChannel& ch, uint64_t request_id, const T& body) {
    return ch.send(T::kType, request_id, ipc::encode_body(body));
}

}  // namespace

// ---------------------------------------------------------------------------
// The helper's peers and what each may send (relayd's privsep_proc table,
// OpenSSH's monitor dispatch). A type not listed for a channel is a
// protocol violation: logged, and the helper exits 1 (the supervisor
// restarts it). A listed type whose handler fails: from the supervisor,
// exit 1; from netproc, the netproc channel is dropped with its jobs.

const Helper::Accept Helper::kFromSupervisor[] = {
    {MsgType::cp_service, &Helper::on_service},
    {MsgType::cp_certificate, &Helper::on_certificate},
    {MsgType::cp_trust, &Helper::on_trust},
    {MsgType::cp_ticket_keys, &Helper::on_ticket_keys},
    {MsgType::cp_config_done, &Helper::on_config_done},
    {MsgType::cp_netproc_channel, &Helper::on_netproc_channel},
    {MsgType::ping, &Helper::on_ping},
    {MsgType::shutdown, &Helper::on_shutdown},
};

const Helper::Accept Helper::kFromNetproc[] = {
    {MsgType::hs_job, &Helper::on_handshake},
};

const Helper::PeerSpec Helper::kPeers[] = {
    {Peer::supervisor, "supervisor", kFromSupervisor},
    {Peer::netproc, "netproc", kFromNetproc},
};

// ---------------------------------------------------------------------------

JobTable::JobTable(uv_loop_t* loop, FdPoller* poller, uint32_t helper_generation)
    : loop_(loop), poller_(poller), generation_(helper_generation), graveyard_(loop) {}

JobTable::~JobTable() {
    jobs_.clear();
    graveyard_.flush();
}

std::optional<ipc::HandshakeFailed> JobTable::start(uint64_t job_id, const ipc::HandshakeJob& job,
                                                    const ServiceContext* service, UniqueFd fd,
                                                    Reply reply) {
    if (!service)
        return refuse(job, "?", ipc::FailReason::unknown_service,
                      strfmt("service id %u is not configured in this helper", job.service_id));
    if (job.role != service->role)
        return refuse(
            job, service->name, ipc::FailReason::internal,
            strfmt("job role %s, service role %s", role_name(job.role), role_name(service->role)));
    HandshakeRequest req;
    req.job_id = job_id;
    req.conn_id = job.conn_id;
    req.deadline_ms = job.deadline_ms;
    req.aead_mask = job.aead_mask;
    req.helper_generation = generation_;
    req.server_name = job.server_name;
    auto hs =
        Handshake::create(loop_, poller_, *service, req, std::move(fd),
                          [this, reply = std::move(reply)](Handshake& h, HandshakeResult&& r) {
                              on_done(h, std::move(r), reply);
                          });
    if (!hs) return refuse(job, service->name, ipc::FailReason::internal, hs.message());
    Handshake* p = hs->get();
    jobs_.emplace(job_id, std::move(*hs));
    ++counters_.started;
    counters_.in_flight = jobs_.size();
    p->start();
    return std::nullopt;
}

std::optional<ipc::HandshakeFailed> JobTable::refuse(const ipc::HandshakeJob& job,
                                                     const std::string& service,
                                                     ipc::FailReason reason, std::string detail) {
    ++counters_.failed_by(reason);
    if (g_failure_log.allow(static_cast<uint64_t>(uv_now(loop_))))
        LOG_INFO("event=handshake_failed conn=%llu service=%s reason=%s alert=0 detail=\"%s\"%s",
                 static_cast<unsigned long long>(job.conn_id), service.c_str(),
                 ipc::fail_reason_name(reason), detail.c_str(), suppressed_tail().c_str());
    ipc::HandshakeFailed f;
    f.reason = reason;
    f.detail = std::move(detail);
    return f;
}

void JobTable::on_done(Handshake& hs, HandshakeResult&& result, const Reply& reply) {
    uint64_t job_id = hs.request().job_id;
    auto it = jobs_.find(job_id);
    if (it == jobs_.end() || it->second.get() != &hs) return;  // aborted: no reply
    std::unique_ptr<Handshake> owned = std::move(it->second);
    jobs_.erase(it);
    counters_.in_flight = jobs_.size();
    unsigned long long conn = hs.request().conn_id;
    unsigned long long ms = hs.elapsed_ms();
    counters_.elapsed_ms += ms;
    if (auto* done = std::get_if<ipc::HandshakeDone>(&result)) {
        ++counters_.ok;
        const SuiteInfo* suite = find_suite(done->cipher_suite);
        LOG_DEBUG(
            "event=handshake_done conn=%llu service=%s version=%s suite=%s ms=%llu "
            "leftover=%zu sni=\"%s\" alpn=\"%s\"",
            conn, hs.service_name().c_str(), tls_version_name(done->tls_version),
            suite ? suite->name : "?", ms, done->leftover.size(), done->sni.c_str(),
            done->alpn.c_str());
    } else {
        const auto& f = std::get<ipc::HandshakeFailed>(result);
        ++counters_.failed_by(f.reason);
        // In client mode the peer is the configured target: a server
        // certificate refused, or a target that refuses us, is a fault of
        // the deployment, not a stray client's, and is a warning.
        LogLevel level = hs.client() ? LogLevel::warn : LogLevel::info;
        if (g_failure_log.allow(static_cast<uint64_t>(uv_now(loop_))))
            log_write(level,
                      "event=handshake_failed conn=%llu service=%s reason=%s alert=%u ms=%llu "
                      "detail=\"%s\"%s",
                      conn, hs.service_name().c_str(), ipc::fail_reason_name(f.reason), f.alert, ms,
                      f.detail.c_str(), suppressed_tail().c_str());
    }
    bury(std::move(owned));
    reply(job_id, std::move(result));
}

void JobTable::bury(std::unique_ptr<Handshake> hs) {
    graveyard_.defer(std::move(hs));
}

void JobTable::abort_all() {
    for (auto& [id, hs] : jobs_) {
        hs->abort();
        ++counters_.aborted;
        bury(std::move(hs));
    }
    jobs_.clear();
    counters_.in_flight = 0;
}

void JobTable::expire_all(const std::string& why) {
    std::vector<Handshake*> all;
    for (auto& [id, hs] : jobs_) all.push_back(hs.get());
    for (Handshake* hs : all) hs->expire(why);  // on_done moves each to the graveyard
}

// ---------------------------------------------------------------------------

Helper::Helper(uv_loop_t* loop, FdPoller* poller, const ChildArgs& args, UniqueFd control)
    : loop_(loop),
      args_(args),
      dead_channels_(loop),
      jobs_(loop, poller, args.generation),
      drain_timer_(loop, [this] { drain_deadline(); }),
      flush_timer_(loop, [this] {
          bool flushed = !netproc_ || netproc_->failed() || netproc_->queued() == 0;
          if (flushed || uv_now(loop_) >= flush_deadline_ms_) {
              flush_timer_.stop();
              uv_stop(loop_);
          }
      }) {
    control_ = std::make_unique<ipc::UvChannel>(
        loop, std::move(control), "supervisor",
        [this](ipc::Message&& m) { dispatch(Peer::supervisor, 0, std::move(m)); },
        [this](const Error& e) { on_control_failed(e); });
}

Helper::~Helper() {
    jobs_.abort_all();
    netproc_.reset();
    control_.reset();
    dead_channels_.flush();
}

void Helper::dispatch(Peer peer, uint64_t channel_epoch, ipc::Message&& msg) {
    if (stopped_) return;
    if (peer == Peer::netproc && channel_epoch != netproc_epoch_) return;  // a replaced channel
    const PeerSpec& spec = kPeers[static_cast<size_t>(peer)];
    const Accept* accept = nullptr;
    for (const Accept& a : spec.accepts)
        if (a.type == msg.type()) accept = &a;
    if (!accept) {
        LOG_ERROR(
            "event=protocol_violation peer=%s type=%s(%u) reason=\"not accepted on this "
            "channel\"",
            spec.name, ipc::msg_type_name(msg.type()), static_cast<unsigned>(msg.type()));
        finish(1);
        return;
    }
    Status s = (this->*accept->handler)(msg);
    if (s) return;
    if (peer == Peer::supervisor) {
        LOG_ERROR("event=exit peer=supervisor type=%s reason=\"%s\"",
                  ipc::msg_type_name(msg.type()), s.message().c_str());
        finish(1);
    } else {
        drop_netproc(context(ipc::msg_type_name(msg.type()), s.error()));
    }
}

// --- supervisor -> helper ---------------------------------------------------

Status Helper::on_service(ipc::Message& msg) {
    if (configured_) return err(ErrorKind::protocol, "service configuration after CP_CONFIG_DONE");
    auto m = ipc::decode_message<ipc::CpService>(msg);
    if (!m) return m.error();
    if (pending_services_.count(m->id))
        return err(ErrorKind::protocol, "service id %u sent twice", m->id);
    ServiceSpec& spec = pending_services_[m->id];
    spec.id = m->id;
    spec.name = m->name;
    spec.role = m->role;
    spec.handshake_timeout_ms = m->handshake_timeout_ms;
    spec.tls = std::move(m->tls);
    return {};
}

Status Helper::on_certificate(ipc::Message& msg) {
    if (configured_) return err(ErrorKind::protocol, "certificate after CP_CONFIG_DONE");
    auto m = ipc::decode_message<ipc::CpCertificate>(msg);
    if (!m) return m.error();
    auto it = pending_services_.find(m->service_id);
    if (it == pending_services_.end())
        return err(ErrorKind::protocol, "certificate for service id %u, which was not declared",
                   m->service_id);
    it->second.certificates.push_back(CertificateSpec{std::move(m->chain_pem),
                                                      std::move(m->key_pem), std::move(m->names),
                                                      std::move(m->ocsp_der)});
    return {};
}

Status Helper::on_trust(ipc::Message& msg) {
    if (configured_) return err(ErrorKind::protocol, "trust material after CP_CONFIG_DONE");
    auto m = ipc::decode_message<ipc::CpTrust>(msg);
    if (!m) return m.error();
    auto it = pending_services_.find(m->service_id);
    if (it == pending_services_.end())
        return err(ErrorKind::protocol, "trust material for service id %u, which was not declared",
                   m->service_id);
    ServiceSpec& spec = it->second;
    std::vector<uint8_t>& to = m->kind == ipc::TrustKind::client_ca   ? spec.client_ca_der
                               : m->kind == ipc::TrustKind::server_ca ? spec.server_ca_der
                                                                      : spec.crl_der;
    if (to.size() + m->der.size() > kMaxTrustBytes)
        return err(ErrorKind::protocol, "trust material for service id %u exceeds %zu bytes",
                   m->service_id, kMaxTrustBytes);
    to.insert(to.end(), m->der.begin(), m->der.end());
    return {};
}

Status Helper::on_ticket_keys(ipc::Message& msg) {
    auto m = ipc::decode_message<ipc::CpTicketKeys>(msg);
    if (!m) return m.error();
    for (auto& [id, svc] : services_)
        if (auto s = svc->set_ticket_keys(*m); !s) return context(svc->name, s.error());
    ticket_keys_ = std::move(*m);
    have_ticket_keys_ = true;
    LOG_INFO("event=ticket_keys keys=%zu sealing=%u", ticket_keys_.keys.size(),
             static_cast<unsigned>(ticket_keys_.encrypt_index));
    return {};
}

Status Helper::on_config_done(ipc::Message& msg) {
    if (configured_) return err(ErrorKind::protocol, "CP_CONFIG_DONE twice");
    auto m = ipc::decode_message<ipc::CpConfigDone>(msg);
    if (!m) return m.error();
    if (m->generation != args_.generation || m->slot != args_.slot)
        return err(ErrorKind::protocol,
                   "configuration for generation %u slot %u, this helper is generation %u slot %u",
                   m->generation, m->slot, args_.generation, args_.slot);
    // The key PEMs are wiped when the specs go, whatever the outcome.
    std::map<uint32_t, ServiceSpec> specs = std::move(pending_services_);
    pending_services_.clear();
    for (const auto& [id, spec] : specs) {
        auto ctx = build_service_context(spec);
        if (!ctx) return ctx.error();
        if (!(*ctx)->ctx)
            LOG_WARN("event=service_unsupported service=%s reason=\"%s\"", spec.name.c_str(),
                     (*ctx)->unsupported.c_str());
        if (have_ticket_keys_)
            if (auto s = (*ctx)->set_ticket_keys(ticket_keys_); !s)
                return context(spec.name, s.error());
        services_[id] = std::move(*ctx);
    }
    configured_ = true;
    LOG_INFO("event=configured generation=%u slot=%u services=%zu", args_.generation, args_.slot,
             services_.size());
    ipc::Ready ready;
    ready.role = ipc::ProcessRole::cryptoproc;
    ready.generation = args_.generation;
    ready.slot = args_.slot;
    send_body(*control_, 0, ready);
    return {};
}

Status Helper::on_netproc_channel(ipc::Message& msg) {
    if (!configured_) return err(ErrorKind::protocol, "CP_NETPROC_CHANNEL before CP_CONFIG_DONE");
    auto m = ipc::decode_message<ipc::CpNetprocChannel>(msg);
    if (!m) return m.error();
    UniqueFd fd = msg.take_fd();
    if (auto s = check_channel_fd(fd.get()); !s) return context("netproc channel", s.error());
    if (netproc_) {
        // netproc restarted: the jobs it lent us are its predecessor's.
        LOG_INFO("event=netproc_channel_replaced aborted_jobs=%zu", jobs_.in_flight());
        jobs_.abort_all();
        netproc_->close();
        dead_channels_.defer(std::move(netproc_));
    }
    uint64_t epoch = ++netproc_epoch_;
    netproc_failure_logged_ = false;
    netproc_ = std::make_unique<ipc::UvChannel>(
        loop_, std::move(fd), "netproc",
        [this, epoch](ipc::Message&& m) { dispatch(Peer::netproc, epoch, std::move(m)); },
        [this, epoch](const Error& e) {
            if (epoch == netproc_epoch_) drop_netproc(e);
        });
    LOG_INFO("event=netproc_channel epoch=%llu", static_cast<unsigned long long>(epoch));
    maybe_drained();
    return {};
}

Status Helper::on_ping(ipc::Message& msg) {
    auto m = ipc::decode_message<ipc::Ping>(msg);
    if (!m) return m.error();
    ipc::Pong pong;
    pong.seq = m->seq;
    const HandshakeCounters& c = jobs_.counters();
    pong.handshakes_ok = c.ok;
    pong.handshakes_failed = c.failed_total();
    pong.handshakes_aborted = c.aborted;
    pong.handshake_ms = c.elapsed_ms;
    send_body(*control_, msg.request_id(), pong);
    return {};
}

Status Helper::on_shutdown(ipc::Message& msg) {
    auto m = ipc::decode_message<ipc::Shutdown>(msg);
    if (!m) return m.error();
    if (draining_) return {};
    draining_ = true;
    LOG_INFO("event=shutdown drain_ms=%u in_flight=%zu", m->drain_ms, jobs_.in_flight());
    if (jobs_.in_flight() > 0) drain_timer_.start(m->drain_ms);
    maybe_drained();
    return {};
}

// --- netproc -> helper ------------------------------------------------------

Status Helper::on_handshake(ipc::Message& msg) {
    auto job = ipc::decode_message<ipc::HandshakeJob>(msg);
    if (!job) return job.error();
    uint64_t job_id = msg.request_id();
    if (jobs_.contains(job_id))
        return err(ErrorKind::protocol, "job id %llu is already in flight",
                   static_cast<unsigned long long>(job_id));
    auto it = services_.find(job->service_id);
    const ServiceContext* service = it == services_.end() ? nullptr : it->second.get();
    uint64_t epoch = netproc_epoch_;
    auto refused = jobs_.start(
        job_id, *job, service, msg.take_fd(),
        [this, epoch](uint64_t id, HandshakeResult&& r) { reply(epoch, id, std::move(r)); });
    if (refused) reply(epoch, job_id, std::move(*refused));
    return {};
}

// ---------------------------------------------------------------------------

void Helper::reply(uint64_t epoch, uint64_t job_id, HandshakeResult&& result) {
    if (epoch == netproc_epoch_ && netproc_ && !stopped_) {
#if defined(TLSWARD_FAULT_INJECTION)
        if (const auto* done = std::get_if<ipc::HandshakeDone>(&result);
            done && misbehave(*netproc_, job_id, *done)) {
            maybe_drained();
            return;
        }
#endif
        // The detail is informational and may hold OpenSSL's whole error
        // queue: cut here to what the field carries (ipc::kMaxString).
        if (auto* f = std::get_if<ipc::HandshakeFailed>(&result))
            f->detail = ipc::bounded_text(std::move(f->detail));
        bool sent = std::visit([&](const auto& body) { return send_body(*netproc_, job_id, body); },
                               result);
        // An answer that did not fit its message still answers the job.
        if (!sent && !netproc_->failed())
            send_body(*netproc_, job_id,
                      ipc::HandshakeFailed{ipc::FailReason::internal, 0,
                                           "the helper's answer did not fit its message"});
    }
    maybe_drained();
}

void Helper::drop_netproc(const Error& why) {
    if (!netproc_) return;
    if (!netproc_failure_logged_) {
        // netproc closing with nothing in flight is a shutdown or a netproc
        // restart the supervisor reports; only lost handshakes are news.
        if (why.kind == ErrorKind::peer_closed && jobs_.in_flight() == 0)
            LOG_INFO("event=netproc_channel_closed aborted_jobs=0");
        else
            LOG_WARN("event=netproc_channel_failed reason=\"%s\" aborted_jobs=%zu",
                     why.message.c_str(), jobs_.in_flight());
    }
    netproc_failure_logged_ = true;
    jobs_.abort_all();
    netproc_->close();
    dead_channels_.defer(std::move(netproc_));
    maybe_drained();
}

void Helper::on_control_failed(const Error& e) {
    if (e.kind == ErrorKind::peer_closed) {
        LOG_INFO("event=exit reason=\"supervisor closed the control channel\"");
        finish(0);
    } else {
        LOG_ERROR("event=exit reason=\"control channel: %s\"", e.message.c_str());
        finish(1);
    }
}

void Helper::maybe_drained() {
    if (!draining_ || stopped_ || jobs_.in_flight() > 0) return;
    LOG_INFO("event=drained");
    finish(0);
}

void Helper::drain_deadline() {
    LOG_INFO("event=drain_deadline in_flight=%zu", jobs_.in_flight());
    jobs_.expire_all("the helper is shutting down (drain deadline)");
    maybe_drained();
}

void Helper::finish(int code) {
    if (stopped_) return;
    stopped_ = true;
    exit_code_ = code;
    drain_timer_.stop();
    jobs_.abort_all();
    if (control_) control_->close();
    // A clean exit lets netproc have the replies already queued to it.
    if (code == 0 && netproc_ && !netproc_->failed() && netproc_->queued() > 0) {
        flush_deadline_ms_ = uv_now(loop_) + kExitFlushMs;
        flush_timer_.start(10, 10);
        return;
    }
    uv_stop(loop_);
}

}  // namespace tlsward::cryptoproc
