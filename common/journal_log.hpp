// Structured log records for the systemd journal (its native protocol:
// one datagram of FIELD=value lines on /run/systemd/journal/socket).
//
// Every log line is "event=... key=value key=\"quoted value\" ..." (logfmt,
// common/logfmt.hpp); each key becomes a journal field of the same name in
// upper case (EVENT=close, SERVICE=web, PEER=..., BYTES_IN=...) holding the
// value unescaped, byte for byte (a value with a newline is sent in the
// protocol's binary form), beside MESSAGE (the whole line, escaped),
// PRIORITY, SYSLOG_IDENTIFIER=tlsward and ROLE (supervisor, netproc,
// crypto[N]). So `journalctl EVENT=close SERVICE=web` finds connection
// ends without parsing text.
//
// Only the supervisor connects (children have no socket() once
// sandboxed): it gives each child a copy of its connected socket as fd 4
// (kJournalFd) before exec, and every process writes its own records on it.
#pragma once

#include <string>
#include <string_view>

#include "common/unique_fd.hpp"

namespace tlsward {

// The datagram for one line. Words that are not pairs, keys that are not
// [a-z][a-z0-9_]* and keys that would replace a field the journal gives a
// meaning to are left in MESSAGE only.
std::string journal_record(int priority, std::string_view role, std::string_view message);

// A non-blocking datagram socket connected to journald, when this
// process's stderr is the journal stream JOURNAL_STREAM names (device and
// inode match) and the socket accepts connections; otherwise an empty fd. TLSWARD_JOURNAL_SOCKET
// names another socket path (tests).
UniqueFd connect_journal();

}  // namespace tlsward
