#include "common/log.hpp"

#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "common/journal_log.hpp"
#include "common/log_format.hpp"
#include "common/logfmt.hpp"
#include "common/result.hpp"

namespace tlsward {
namespace {

std::string g_role = "tlsward";
LogLevel g_level = LogLevel::info;
bool g_journal = false;
int g_journal_fd = -1;

const char* level_name(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return "debug";
        case LogLevel::info:
            return "info";
        case LogLevel::warn:
            return "warn";
        case LogLevel::error:
            return "error";
    }
    return "?";
}

int syslog_priority(LogLevel l) {
    switch (l) {
        case LogLevel::debug:
            return 7;
        case LogLevel::info:
            return 6;
        case LogLevel::warn:
            return 4;
        case LogLevel::error:
            return 3;
    }
    return 6;
}

}  // namespace

void log_init(const std::string& role) {
    g_role = role;
    g_journal = std::getenv("JOURNAL_STREAM") != nullptr;
    if (const char* lvl = std::getenv("TLSWARD_LOG_LEVEL")) {
        LogLevel l;
        if (parse_log_level(lvl, l)) g_level = l;
    }
}

void log_set_journal_fd(int fd) {
    g_journal_fd = fd;
}
int log_journal_fd() {
    return g_journal_fd;
}

void log_set_role(const std::string& role) {
    g_role = role;
}
void log_set_level(LogLevel level) {
    g_level = level;
}
LogLevel log_level() {
    return g_level;
}

bool parse_log_level(const std::string& s, LogLevel& out) {
    if (s == "debug")
        out = LogLevel::debug;
    else if (s == "info")
        out = LogLevel::info;
    else if (s == "warn" || s == "warning")
        out = LogLevel::warn;
    else if (s == "error")
        out = LogLevel::error;
    else
        return false;
    return true;
}

std::string log_vmessage(const char* fmt, va_list ap) {
    std::string msg = log_vformat(fmt, ap);
    // Every line parses (docs/operations.md, "Logs"); one whose format broke
    // the grammar (a fragment that was not pairs, a key out of [a-z0-9_])
    // is kept whole as the value of a line that does.
    std::vector<logfmt::Field> fields;
    if (logfmt::parse(msg, fields)) return msg;
    std::string wrapped = "event=log_line_malformed text=";
    logfmt::append_quoted(wrapped, msg);
    return wrapped;
}

std::string log_message(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::string msg = log_vmessage(fmt, ap);
    va_end(ap);
    return msg;
}

void log_write(LogLevel level, const char* fmt, ...) {
    if (level < g_level) return;
    va_list ap;
    va_start(ap, fmt);
    std::string msg = log_vmessage(fmt, ap);
    va_end(ap);

    if (g_journal_fd >= 0) {
        std::string record = journal_record(syslog_priority(level), g_role, msg);
        if (::send(g_journal_fd, record.data(), record.size(), MSG_DONTWAIT | MSG_NOSIGNAL) ==
            static_cast<ssize_t>(record.size()))
            return;
    }
    std::string line;
    if (g_journal) {
        line = strfmt("<%d>%s[%d]: %s\n", syslog_priority(level), g_role.c_str(),
                      static_cast<int>(getpid()), msg.c_str());
    } else {
        struct timeval tv {};
        gettimeofday(&tv, nullptr);
        struct tm tm {};
        gmtime_r(&tv.tv_sec, &tm);
        char ts[96];
        std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<int>(tv.tv_usec / 1000));
        line = strfmt("%s %s %s[%d]: %s\n", ts, level_name(level), g_role.c_str(),
                      static_cast<int>(getpid()), msg.c_str());
    }
    // One write per line so lines from the processes sharing stderr never interleave.
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n <= 0) break;
        p += n;
        left -= static_cast<size_t>(n);
    }
}

}  // namespace tlsward
