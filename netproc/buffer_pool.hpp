// Connection buffers. Data in flight sits in fixed-size blocks taken from a
// pool when bytes arrive and given back as soon as a buffer drains, so an
// idle connection holds no block at all (a few hundred bytes of state, not
// tens of kilobytes: see docs/internals.md, "Memory per connection").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace tlsward::netproc {

class BufferPool {
public:
    // block_size must hold at least one full TLS record (16 KiB + 261).
    BufferPool(size_t block_size, size_t max_free_blocks);
    ~BufferPool();
    BufferPool(const BufferPool&) = delete;
    BufferPool& operator=(const BufferPool&) = delete;

    uint8_t* get();
    // dirty: how many leading bytes were ever written (they are wiped).
    void put(uint8_t* block, size_t dirty);
    size_t block_size() const { return block_size_; }
    size_t blocks_in_use() const { return in_use_; }
    size_t blocks_free() const { return free_.size(); }

private:
    size_t block_size_;
    size_t max_free_;
    size_t in_use_ = 0;
    std::vector<uint8_t*> free_;
};

// A byte queue over one pooled block: bytes are appended at the tail and
// consumed from the head. Readers and writers see contiguous spans so that
// records are sealed and opened in place and sockets read and written
// without intermediate copies.
class IoBuffer {
public:
    explicit IoBuffer(BufferPool* pool) : pool_(pool) {}
    ~IoBuffer() { release(); }
    IoBuffer(const IoBuffer&) = delete;
    IoBuffer& operator=(const IoBuffer&) = delete;

    size_t size() const { return tail_ - head_; }
    bool empty() const { return tail_ == head_; }
    size_t capacity() const { return pool_->block_size(); }
    // Room left once the unread bytes are moved to the front.
    size_t free_space() const { return capacity() - size(); }
    bool has_block() const { return block_ != nullptr; }

    std::span<uint8_t> readable() { return {block_ + head_, size()}; }
    std::span<const uint8_t> readable() const { return {block_ + head_, size()}; }
    void consume(size_t n);

    // Contiguous space after the tail, at least `min` bytes if free_space()
    // allows (moving unread bytes to the front when needed); empty if not.
    std::span<uint8_t> writable(size_t min = 1);
    void commit(size_t n) {
        tail_ += n;
        if (tail_ > dirty_) dirty_ = tail_;
    }
    // Appends all of `data` or nothing.
    bool append(std::span<const uint8_t> data);

    // Gives the block back if nothing is buffered.
    void release_if_empty() {
        if (empty()) release();
    }

private:
    void release();

    BufferPool* pool_;
    uint8_t* block_ = nullptr;
    size_t head_ = 0;
    size_t tail_ = 0;
    size_t dirty_ = 0;
};

}  // namespace tlsward::netproc
