// Objects that end inside one of their own libuv callbacks (a connection
// closed from its socket's event, a client from its timer) cannot be
// destroyed there: the callback is still on the stack. DeferredDelete takes
// them and frees them once per loop iteration, after I/O, when no callback
// of theirs can be running. One of these per owner replaces the hand-kept
// "graveyard vector + check handle" pairs. Ptr is std::shared_ptr<T> for
// objects others may still hold (what is released here is then this
// owner's reference).
#pragma once

#include <uv.h>

#include <memory>
#include <utility>
#include <vector>

#include "common/uv_handles.hpp"

namespace tlsward {

template <class T, class Ptr = std::unique_ptr<T>>
class DeferredDelete {
public:
    explicit DeferredDelete(uv_loop_t* loop) : check_(loop, [this] { items_.clear(); }) {}
    DeferredDelete(const DeferredDelete&) = delete;
    DeferredDelete& operator=(const DeferredDelete&) = delete;

    // Takes `item`; it is destroyed after the current loop iteration's I/O.
    void defer(Ptr item) { items_.push_back(std::move(item)); }
    // Frees what is waiting now (an owner's destructor, or a shutdown).
    void flush() { items_.clear(); }
    bool empty() const { return items_.empty(); }

private:
    std::vector<Ptr> items_;
    UvCheck check_;  // after items_: destroyed first, so it never runs on freed items
};

}  // namespace tlsward
