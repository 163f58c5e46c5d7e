// One line per event on stderr: "<time> <level> <role>[<pid>]: event=... k=v".
// The part after "]: " is a logfmt line (common/logfmt.hpp) whatever the
// values hold: the format is printf's, and every string a conversion puts
// in a value is escaped where it lands (common/log_format.hpp), so
//   LOG_INFO("event=x service=%s reason=\"%s\"", name, why)
// is safe with any name and any why.
// Under systemd (JOURNAL_STREAM set) the time is left to the journal and
// each line starts with the syslog priority ("<6>") that journald parses;
// with a journal socket (log_set_journal_fd) each line is a journal record
// whose key=value pairs are fields.
#pragma once

#include <cstdarg>
#include <string>

namespace tlsward {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

// Set once at the top of each process's main().
void log_init(const std::string& role);
void log_set_role(const std::string& role);
void log_set_level(LogLevel level);
LogLevel log_level();
bool parse_log_level(const std::string& s, LogLevel& out);

// Structured records to the journal (common/journal_log.hpp) on this
// connected datagram socket instead of lines on stderr; -1: stderr only.
// A record the socket does not take (journald busy or gone) goes to
// stderr as a line, so nothing is lost silently.
void log_set_journal_fd(int fd);
int log_journal_fd();

void log_write(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// The message log_write writes for this format: log_format's, or, should
// the format itself break the grammar, "event=log_line_malformed
// text=\"<the line, escaped>\"" (a line that parses all the same).
std::string log_message(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string log_vmessage(const char* fmt, va_list ap);

}  // namespace tlsward

#define LOG_DEBUG(...)                                                     \
    do {                                                                   \
        if (::tlsward::log_level() <= ::tlsward::LogLevel::debug)          \
            ::tlsward::log_write(::tlsward::LogLevel::debug, __VA_ARGS__); \
    } while (0)
#define LOG_INFO(...) ::tlsward::log_write(::tlsward::LogLevel::info, __VA_ARGS__)
#define LOG_WARN(...) ::tlsward::log_write(::tlsward::LogLevel::warn, __VA_ARGS__)
#define LOG_ERROR(...) ::tlsward::log_write(::tlsward::LogLevel::error, __VA_ARGS__)
