// Catch2 prints an ErrorKind by its name ("peer_closed"), so a failed
// CHECK(r.kind() == ErrorKind::x) says which kind it got.
#pragma once

#include <catch2/catch.hpp>

#include "common/result.hpp"

namespace Catch {
template <>
struct StringMaker<tlsward::ErrorKind> {
    static std::string convert(tlsward::ErrorKind k) { return tlsward::error_kind_name(k); }
};
}  // namespace Catch
