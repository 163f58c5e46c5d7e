// What each child may send the supervisor, and what happens to a child that
// breaks the protocol: it is killed, and the usual restart gives its slot a
// fresh process and channel.
#include <signal.h>

#include <span>

#include "common/log.hpp"
#include "supervisor/supervisor.hpp"

namespace tlsward::supervisor {

namespace {

unsigned long long ull(uint64_t v) {
    return static_cast<unsigned long long>(v);
}

}  // namespace

// A type not listed here is a protocol violation: the child is killed (and
// restarted).
const Supervisor::Accept Supervisor::kFromNetproc[] = {
    {ipc::MsgType::ready, &Supervisor::on_ready},
    {ipc::MsgType::np_status, &Supervisor::on_np_status},
    {ipc::MsgType::np_retired, &Supervisor::on_np_retired},
    {ipc::MsgType::np_helper_failed, &Supervisor::on_np_helper_failed},
};

const Supervisor::Accept Supervisor::kFromHelper[] = {
    {ipc::MsgType::ready, &Supervisor::on_ready},
    {ipc::MsgType::pong, &Supervisor::on_pong},
};

void Supervisor::on_child_message(Child& c, ipc::Message&& m) {
    std::span<const Accept> accepts = c.role == ipc::ProcessRole::netproc
                                          ? std::span<const Accept>(kFromNetproc)
                                          : std::span<const Accept>(kFromHelper);
    for (const Accept& a : accepts) {
        if (a.type != m.type()) continue;
        if (auto s = (this->*a.handler)(c, m); !s) kill_child(c, s.message());
        return;
    }
    kill_child(c, strfmt("message %s is not accepted from %s", ipc::msg_type_name(m.type()),
                         c.name().c_str()));
}

void Supervisor::on_child_channel_failed(Child& c, const Error& e) {
    // The child closed its end: it is exiting, and SIGCHLD does the rest.
    // Anything else is a protocol violation by the child.
    if (e.kind != ErrorKind::peer_closed) kill_child(c, e.message);
}

void Supervisor::kill_child(Child& c, const std::string& why) {
    LOG_ERROR("event=protocol_violation process=%s pid=%d reason=\"%s\" action=kill",
              c.name().c_str(), static_cast<int>(c.pid), why.c_str());
    if (c.pid > 0) kill(c.pid, SIGKILL);
    if (c.control) c.control->close();
}

Status Supervisor::on_ready(Child& c, ipc::Message& m) {
    auto r = ipc::decode_message<ipc::Ready>(m);
    if (!r) return r.error();
    if (r->role != c.role || r->slot != c.slot)
        return err(ErrorKind::protocol, "READY names another role or slot");
    if (c.role == ipc::ProcessRole::cryptoproc) {
        if (r->generation != c.generation)
            return err(ErrorKind::protocol,
                       "READY for generation %u from a helper of generation %u", r->generation,
                       c.generation);
        if (c.ready) return err(ErrorKind::protocol, "READY twice");
        c.ready = true;
        LOG_INFO("event=child_ready process=%s pid=%d generation=%u", c.name().c_str(),
                 static_cast<int>(c.pid), c.generation);
        if (generations_.pending_helper(c))
            maybe_commit_reload();
        else
            check_ready();
        return {};
    }
    // netproc answers READY to every configuration it applied.
    if (r->generation == 0 || r->generation > generations_.active().number)
        return err(ErrorKind::protocol, "READY for generation %u, which was never sent",
                   r->generation);
    if (!c.ready) {
        c.ready = true;
        LOG_INFO("event=child_ready process=netproc pid=%d generation=%u", static_cast<int>(c.pid),
                 r->generation);
        if (netproc_lost_ms_ != 0) {
            LOG_WARN("event=netproc_restored gap_ms=%llu connections_lost=%llu",
                     ull(uv_now(loop_) - netproc_lost_ms_), ull(connections_lost_));
            netproc_lost_ms_ = 0;
        }
    }
    c.generation = r->generation;
    if (switching_to_ != 0 && r->generation == switching_to_) finish_reload();
    check_ready();
    return {};
}

Status Supervisor::on_np_status(Child& c, ipc::Message& m) {
    auto st = ipc::decode_message<ipc::NpStatus>(m);
    if (!st) return st.error();
    if (auto s = note_answer(c, st->seq, "NP_STATUS"); !s) return s;
    netproc_report_.record(st.value(), uv_now(loop_));
    return {};
}

Status Supervisor::on_pong(Child& c, ipc::Message& m) {
    auto p = ipc::decode_message<ipc::Pong>(m);
    if (!p) return p.error();
    if (auto s = note_answer(c, p->seq, "PONG"); !s) return s;
    c.last_pong = p.value();
    return {};
}

// No helper older than the generation netproc names holds a job any more.
Status Supervisor::on_np_retired(Child&, ipc::Message& m) {
    auto r = ipc::decode_message<ipc::NpRetired>(m);
    if (!r) return r.error();
    if (r->generation > generations_.active().number)
        return err(ErrorKind::protocol, "NP_RETIRED for generation %u, which was never sent",
                   r->generation);
    release_retiring_helpers(r->generation);
    return {};
}

// netproc cut a helper off: kill it like a helper that broke the protocol
// with us; the usual restart gives its slot a fresh process and channel.
// (A helper that already exited, or a slot netproc names wrongly, is no
// violation of netproc's: the helper may have died meanwhile.)
Status Supervisor::on_np_helper_failed(Child&, ipc::Message& m) {
    auto r = ipc::decode_message<ipc::NpHelperFailed>(m);
    if (!r) return r.error();
    for (auto& h : children_.helpers()) {
        if (h->slot == r->slot && h->generation == r->generation && h->pid > 0) {
            kill_child(*h, "netproc: " + r->reason);
            return {};
        }
    }
    LOG_INFO("event=helper_failed_gone slot=%u generation=%u", r->slot, r->generation);
    return {};
}

}  // namespace tlsward::supervisor
