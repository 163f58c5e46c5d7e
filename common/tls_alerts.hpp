// Names of TLS alert descriptions (the IANA registry: RFC 8446 section 6,
// RFC 5246 section 7.2 and the extensions' RFCs), as the RFCs spell them,
// for logs. OpenSSL 3.0's SSL_alert_desc_string_long() calls TLS 1.3's
// certificate_required (116) and missing_extension (109) "unknown".
#pragma once

#include <cstdint>

namespace tlsward {

// "certificate_required"; "unknown_alert" for a number the registry
// does not name.
const char* tls_alert_name(uint8_t description);

}  // namespace tlsward
