#include "common/journal_log.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/logfmt.hpp"

namespace tlsward {

namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

bool reserved(std::string_view field) {
    static constexpr std::string_view kReserved[] = {
        "MESSAGE", "MESSAGE_ID", "PRIORITY",  "SYSLOG_IDENTIFIER", "SYSLOG_PID", "SYSLOG_FACILITY",
        "ROLE",    "CODE_FILE",  "CODE_LINE", "CODE_FUNC",         "ERRNO",      "TID"};
    for (std::string_view r : kReserved)
        if (field == r) return true;
    return false;
}

// One field in the native protocol: NAME=value, or, for a value with a
// newline in it (the protocol's record separator), NAME, a newline, the
// length as 64-bit little-endian and the bytes as they are.
void field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    if (value.find('\n') == std::string_view::npos) {
        out += '=';
        out.append(value);
    } else {
        out += '\n';
        uint64_t len = value.size();
        for (int i = 0; i < 8; ++i) out += static_cast<char>((len >> (8 * i)) & 0xff);
        out.append(value);
    }
    out += '\n';
}

}  // namespace

std::string journal_record(int priority, std::string_view role, std::string_view message) {
    std::string out;
    field(out, "PRIORITY", std::to_string(priority));
    field(out, "SYSLOG_IDENTIFIER", "tlsward");
    field(out, "ROLE", role);
    // MESSAGE is the line as stderr shows it (escaped); each field is the
    // value as it was before escaping (journal fields hold any bytes).
    std::string text = std::string(role) + ": " + std::string(message);
    field(out, "MESSAGE", text);
    for (const logfmt::Field& f : logfmt::parse_lenient(message)) {
        std::string name = f.key;
        for (char& c : name) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        if (!reserved(name)) field(out, name, f.value);
    }
    return out;
}

// systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected
// stderr to. A child of such a service (a shell started from it, a test)
// inherits the variable with another stderr: then the lines must stay on
// that stderr.
bool stderr_is_journal_stream() {
    const char* v = std::getenv("JOURNAL_STREAM");
    if (v == nullptr) return false;
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    if (std::sscanf(v, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}

UniqueFd connect_journal() {
    if (!stderr_is_journal_stream()) return UniqueFd();
    const char* path = std::getenv("TLSWARD_JOURNAL_SOCKET");
    if (path == nullptr || *path == '\0') path = kJournalSocket;
    sockaddr_un sa{};
    if (std::strlen(path) >= sizeof sa.sun_path) return UniqueFd();
    sa.sun_family = AF_UNIX;
    std::strcpy(sa.sun_path, path);
    UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return UniqueFd();
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return UniqueFd();
    return fd;
}

}  // namespace tlsward
