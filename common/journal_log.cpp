#include "common/journal_log.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

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

void field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out += '=';
    // Values never hold a newline: log_write replaced control characters.
    out.append(value);
    out += '\n';
}

}  // namespace

std::string journal_record(int priority, std::string_view role, std::string_view message) {
    std::string out;
    field(out, "PRIORITY", std::to_string(priority));
    field(out, "SYSLOG_IDENTIFIER", "tlsward");
    field(out, "ROLE", role);
    std::string text = std::string(role) + ": " + std::string(message);
    field(out, "MESSAGE", text);
    // key=value pairs, values bare (up to a space) or quoted (up to a quote
    // that ends the token).
    size_t i = 0;
    const size_t n = message.size();
    while (i < n) {
        while (i < n && message[i] == ' ') ++i;
        size_t k = i;
        while (i < n && ((message[i] >= 'a' && message[i] <= 'z') ||
                         (message[i] >= '0' && message[i] <= '9') || message[i] == '_'))
            ++i;
        bool is_pair = i > k && i < n && message[i] == '=' && message[k] != '_';
        std::string_view key = message.substr(k, i - k);
        if (!is_pair) {
            while (i < n && message[i] != ' ') ++i;  // free text: skip the word
            continue;
        }
        ++i;  // '='
        std::string_view value;
        if (i < n && message[i] == '"') {
            size_t start = ++i;
            size_t end = start;
            while (end < n && !(message[end] == '"' && (end + 1 == n || message[end + 1] == ' ')))
                ++end;
            value = message.substr(start, end - start);
            i = end < n ? end + 1 : n;
        } else {
            size_t start = i;
            while (i < n && message[i] != ' ') ++i;
            value = message.substr(start, i - start);
        }
        std::string name(key);
        for (char& c : name) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        if (!reserved(name)) field(out, name, value);
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
