#include "common/capabilities.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tlsward::caps {

namespace {

// Version 3: two 32-bit words per set.
struct Sets {
    __user_cap_data_struct data[2] = {};
};

Result<Sets> get_sets() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    Sets s;
    if (syscall(SYS_capget, &header, s.data) != 0)
        return err(ErrorKind::io, "capget: %s", strerror(errno));
    return s;
}

Status set_sets(Sets& s) {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    if (syscall(SYS_capset, &header, s.data) != 0)
        return err(ErrorKind::io, "capset: %s", strerror(errno));
    return {};
}

bool has(const __u32 (&words)[2], int cap) {
    return (words[cap / 32] & (1U << (cap % 32))) != 0;
}

bool listed(std::span<const int> caps, int cap) {
    return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

void append(std::string& out, int cap) {
    if (!out.empty()) out += ',';
    out += name(cap);
}

}  // namespace

std::string name(int cap) {
    static const char* const kNames[] = {
        "cap_chown",
        "cap_dac_override",
        "cap_dac_read_search",
        "cap_fowner",
        "cap_fsetid",
        "cap_kill",
        "cap_setgid",
        "cap_setuid",
        "cap_setpcap",
        "cap_linux_immutable",
        "cap_net_bind_service",
        "cap_net_broadcast",
        "cap_net_admin",
        "cap_net_raw",
        "cap_ipc_lock",
        "cap_ipc_owner",
        "cap_sys_module",
        "cap_sys_rawio",
        "cap_sys_chroot",
        "cap_sys_ptrace",
        "cap_sys_pacct",
        "cap_sys_admin",
        "cap_sys_boot",
        "cap_sys_nice",
        "cap_sys_resource",
        "cap_sys_time",
        "cap_sys_tty_config",
        "cap_mknod",
        "cap_lease",
        "cap_audit_write",
        "cap_audit_control",
        "cap_setfcap",
        "cap_mac_override",
        "cap_mac_admin",
        "cap_syslog",
        "cap_wake_alarm",
        "cap_block_suspend",
        "cap_audit_read",
        "cap_perfmon",
        "cap_bpf",
        "cap_checkpoint_restore",
    };
    if (cap >= 0 && static_cast<size_t>(cap) < std::size(kNames)) return kNames[cap];
    return strfmt("cap_%d", cap);
}

bool effective(int cap) {
    auto s = get_sets();
    if (!s || cap < 0 || cap >= 64) return false;
    const __u32 words[2] = {s->data[0].effective, s->data[1].effective};
    return has(words, cap);
}

bool any_permitted() {
    auto s = get_sets();
    return s && (s->data[0].permitted != 0 || s->data[1].permitted != 0);
}

Status drop_all() {
    // Ambient first: lowering it needs no capability, and it cannot hold
    // what the permitted set no longer has.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return err(ErrorKind::io, "prctl(PR_CAP_AMBIENT_CLEAR_ALL): %s", strerror(errno));
    Sets none;
    if (auto st = set_sets(none); !st) return st;
    auto after = get_sets();
    if (!after) return after.error();
    for (const auto& d : after->data)
        if (d.permitted != 0 || d.effective != 0 || d.inheritable != 0)
            return err(ErrorKind::internal, "capabilities remain after dropping them all");
    return {};
}

Result<Limited> limit_to(std::span<const int> keep, std::span<const int> inherit) {
    Limited out;
    // The bounding set first, while CAP_SETPCAP is still effective (a drop
    // from the bounding set leaves the effective set alone). PR_CAPBSET_READ
    // fails past the last capability this kernel knows, so no /proc/sys is
    // needed (systemd's ProcSubset=pid hides it).
    int last = 0;
    while (last < 64 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) ++last;
    for (int cap = 0; cap <= last; ++cap) {
        if (listed(keep, cap) || prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
            if (errno != EPERM)
                return err(ErrorKind::io, "prctl(PR_CAPBSET_DROP, %s): %s", name(cap).c_str(),
                           strerror(errno));
            out.bounding_locked = true;
            continue;
        }
        ++out.bounding_dropped;
    }

    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return err(ErrorKind::io, "prctl(PR_CAP_AMBIENT_CLEAR_ALL): %s", strerror(errno));
    auto cur = get_sets();
    if (!cur) return cur.error();
    Sets next;
    for (int w = 0; w < 2; ++w) {
        for (int bit = 0; bit < 32; ++bit) {
            int cap = w * 32 + bit;
            __u32 mask = 1U << bit;
            if ((cur->data[w].permitted & mask) == 0 || !listed(keep, cap)) continue;
            next.data[w].permitted |= mask;
            next.data[w].effective |= mask;
            append(out.kept, cap);
            if (listed(inherit, cap)) next.data[w].inheritable |= mask;
        }
    }
    if (auto st = set_sets(next); !st) return st.error();

    // Root's children get their capabilities from the bounding set at exec;
    // a non-root process passes them on only through the ambient set.
    if (geteuid() != 0) {
        const __u32 words[2] = {next.data[0].inheritable, next.data[1].inheritable};
        for (int cap = 0; cap < 64; ++cap) {
            if (!has(words, cap)) continue;
            if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
                return err(ErrorKind::io, "prctl(PR_CAP_AMBIENT_RAISE, %s): %s", name(cap).c_str(),
                           strerror(errno));
            append(out.inherited, cap);
        }
    }
    return out;
}

}  // namespace tlsward::caps
