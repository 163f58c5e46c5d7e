#include "supervisor/child_table.hpp"

#include <signal.h>
#include <sys/wait.h>

#include "common/result.hpp"

namespace tlsward::supervisor {

std::string Child::name() const {
    return role == ipc::ProcessRole::netproc ? std::string("netproc") : strfmt("crypto[%u]", slot);
}

void add_helper_counts(ipc::Pong& sum, const ipc::Pong& counts) {
    sum.handshakes_ok += counts.handshakes_ok;
    sum.handshakes_failed += counts.handshakes_failed;
    sum.handshakes_aborted += counts.handshakes_aborted;
    sum.handshake_ms += counts.handshake_ms;
}

ChildTable::ChildTable() {
    netproc_.role = ipc::ProcessRole::netproc;
}

Child& ChildTable::add_helper(uint32_t slot, uint32_t generation) {
    auto h = std::make_unique<Child>();
    h->role = ipc::ProcessRole::cryptoproc;
    h->slot = slot;
    h->generation = generation;
    helpers_.push_back(std::move(h));
    return *helpers_.back();
}

Child* ChildTable::find(pid_t pid) {
    if (pid <= 0) return nullptr;
    if (netproc_.pid == pid) return &netproc_;
    for (auto& h : helpers_)
        if (h->pid == pid) return h.get();
    return nullptr;
}

void ChildTable::drop_removed() {
    std::erase_if(helpers_,
                  [](const std::unique_ptr<Child>& h) { return h->remove && h->pid <= 0; });
}

std::unique_ptr<ipc::UvChannel> ChildTable::exited(Child& c) {
    c.pid = 0;
    c.ready = false;
    if (c.role == ipc::ProcessRole::cryptoproc) {
        add_helper_counts(exited_helpers_, c.last_pong);
        c.last_pong = ipc::Pong{};
    }
    if (c.control) c.control->close();
    return std::move(c.control);
}

ipc::Pong ChildTable::helper_totals() const {
    ipc::Pong sum = exited_helpers_;
    for (const auto& h : helpers_) add_helper_counts(sum, h->last_pong);
    return sum;
}

bool ChildTable::any_running() const {
    if (netproc_.pid > 0) return true;
    for (const auto& h : helpers_)
        if (h->pid > 0) return true;
    return false;
}

void ChildTable::kill_all() const {
    if (netproc_.pid > 0) kill(netproc_.pid, SIGKILL);
    for (const auto& h : helpers_)
        if (h->pid > 0) kill(h->pid, SIGKILL);
}

void ChildTable::kill_and_reap_all() {
    auto reap = [](Child& c) {
        if (c.pid > 0) {
            kill(c.pid, SIGKILL);
            waitpid(c.pid, nullptr, 0);
            c.pid = 0;
        }
    };
    reap(netproc_);
    for (auto& h : helpers_) reap(*h);
}

}  // namespace tlsward::supervisor
