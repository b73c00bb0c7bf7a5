#include "storage/sqlite/wal_gathering_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

namespace teamreg::storage::sqlite {
namespace {

constexpr const char* kName = "teamreg-wal-gathering";
constexpr std::size_t kMaxGathered = 4 << 20;
constexpr std::size_t kMaxWrite = 120 << 10;

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs{};
sqlite3_io_methods g_methods{};

/// Our file: the default VFS's file object lives right after it, in the same allocation.
struct GatheringFile {
  sqlite3_file base;  // first: SQLite sees this
  sqlite3_file* real;
  std::vector<char>* gathered;  // bytes for [offset, offset + size) not yet written
  sqlite3_int64 offset;
};

constexpr std::size_t real_file_offset() {
  return (sizeof(GatheringFile) + alignof(std::max_align_t) - 1) / alignof(std::max_align_t) *
         alignof(std::max_align_t);
}

GatheringFile* self(sqlite3_file* file) {
  return reinterpret_cast<GatheringFile*>(file);
}

int write_gathered(GatheringFile* f) {
  int rc = SQLITE_OK;
  std::size_t done = 0;
  const std::size_t size = f->gathered->size();
  while (rc == SQLITE_OK && done < size) {
    // The default VFS keeps only the low 17 bits of a write's length (SQLite itself never writes
    // more than a page at once), so hand it pieces below 128 KiB.
    const std::size_t piece = std::min(kMaxWrite, size - done);
    rc = f->real->pMethods->xWrite(f->real, f->gathered->data() + done, static_cast<int>(piece),
                                   f->offset + static_cast<sqlite3_int64>(done));
    done += piece;
  }
  f->gathered->clear();
  return rc;
}

int x_close(sqlite3_file* file) {
  GatheringFile* f = self(file);
  const int written = write_gathered(f);
  const int closed = f->real->pMethods->xClose(f->real);
  delete f->gathered;
  f->gathered = nullptr;
  return written != SQLITE_OK ? written : closed;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  GatheringFile* f = self(file);
  const auto n = static_cast<std::size_t>(amount);
  const auto* bytes = static_cast<const char*>(data);
  auto& gathered = *f->gathered;
  if (!gathered.empty() && offset == f->offset + static_cast<sqlite3_int64>(gathered.size()) &&
      gathered.size() + n <= kMaxGathered) {
    try {
      gathered.insert(gathered.end(), bytes, bytes + n);
      return SQLITE_OK;
    } catch (const std::bad_alloc&) {  // fall through: write what we have, then this directly
    }
  }
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  if (n > kMaxWrite) return f->real->pMethods->xWrite(f->real, data, amount, offset);
  try {
    gathered.assign(bytes, bytes + n);
    f->offset = offset;
    return SQLITE_OK;
  } catch (const std::bad_alloc&) {
    gathered.clear();
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
  }
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
  return self(file)->real->pMethods->xLock(self(file)->real, level);
}
int x_unlock(sqlite3_file* file, int level) {
  return self(file)->real->pMethods->xUnlock(self(file)->real, level);
}
int x_check_reserved_lock(sqlite3_file* file, int* out) {
  return self(file)->real->pMethods->xCheckReservedLock(self(file)->real, out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}
int x_sector_size(sqlite3_file* file) {
  return self(file)->real->pMethods->xSectorSize(self(file)->real);
}
int x_device_characteristics(sqlite3_file* file) {
  return self(file)->real->pMethods->xDeviceCharacteristics(self(file)->real);
}
int x_shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
  return self(file)->real->pMethods->xShmMap(self(file)->real, page, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return self(file)->real->pMethods->xShmLock(self(file)->real, offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
  self(file)->real->pMethods->xShmBarrier(self(file)->real);
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  return self(file)->real->pMethods->xShmUnmap(self(file)->real, delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  GatheringFile* f = self(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFetch(f->real, offset, amount, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return self(file)->real->pMethods->xUnfetch(self(file)->real, offset, page);
}

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Anything but a WAL: the default VFS's own object, in place, untouched.
    return g_real->xOpen(g_real, name, file, flags, out_flags);
  }
  GatheringFile* f = self(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + real_file_offset());
  f->gathered = new (std::nothrow) std::vector<char>();
  f->offset = 0;
  if (f->gathered == nullptr) return SQLITE_NOMEM;
  const int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || f->real->pMethods == nullptr) {
    delete f->gathered;
    f->gathered = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  f->base.pMethods = &g_methods;
  return SQLITE_OK;
}

int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_real->xFullPathname(g_real, name, n, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) {
  return g_real->xDlOpen(g_real, name);
}
void vfs_dl_error(sqlite3_vfs*, int n, char* out) {
  g_real->xDlError(g_real, n, out);
}
void (*vfs_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void vfs_dl_close(sqlite3_vfs*, void* handle) {
  g_real->xDlClose(g_real, handle);
}
int vfs_randomness(sqlite3_vfs*, int n, char* out) {
  return g_real->xRandomness(g_real, n, out);
}
int vfs_sleep(sqlite3_vfs*, int microseconds) {
  return g_real->xSleep(g_real, microseconds);
}
int vfs_current_time(sqlite3_vfs*, double* out) {
  return g_real->xCurrentTime(g_real, out);
}
int vfs_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_real->xGetLastError(g_real, n, out);
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

void register_vfs() {
  g_real = sqlite3_vfs_find(nullptr);
  if (g_real == nullptr || g_real->iVersion < 2) {
    throw std::runtime_error("SQLite has no usable default VFS");
  }
  g_methods.iVersion = 3;
  g_methods.xClose = x_close;
  g_methods.xRead = x_read;
  g_methods.xWrite = x_write;
  g_methods.xTruncate = x_truncate;
  g_methods.xSync = x_sync;
  g_methods.xFileSize = x_file_size;
  g_methods.xLock = x_lock;
  g_methods.xUnlock = x_unlock;
  g_methods.xCheckReservedLock = x_check_reserved_lock;
  g_methods.xFileControl = x_file_control;
  g_methods.xSectorSize = x_sector_size;
  g_methods.xDeviceCharacteristics = x_device_characteristics;
  g_methods.xShmMap = x_shm_map;
  g_methods.xShmLock = x_shm_lock;
  g_methods.xShmBarrier = x_shm_barrier;
  g_methods.xShmUnmap = x_shm_unmap;
  g_methods.xFetch = x_fetch;
  g_methods.xUnfetch = x_unfetch;

  g_vfs.iVersion = 2;
  g_vfs.szOsFile = static_cast<int>(real_file_offset()) + g_real->szOsFile;
  g_vfs.mxPathname = g_real->mxPathname;
  g_vfs.zName = kName;
  g_vfs.xOpen = vfs_open;
  g_vfs.xDelete = vfs_delete;
  g_vfs.xAccess = vfs_access;
  g_vfs.xFullPathname = vfs_full_pathname;
  g_vfs.xDlOpen = vfs_dl_open;
  g_vfs.xDlError = vfs_dl_error;
  g_vfs.xDlSym = vfs_dl_sym;
  g_vfs.xDlClose = vfs_dl_close;
  g_vfs.xRandomness = vfs_randomness;
  g_vfs.xSleep = vfs_sleep;
  g_vfs.xCurrentTime = vfs_current_time;
  g_vfs.xGetLastError = vfs_get_last_error;
  g_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
  if (sqlite3_vfs_register(&g_vfs, 0) != SQLITE_OK) {
    throw std::runtime_error("cannot register the SQLite WAL-gathering VFS");
  }
}

}  // namespace

const char* wal_gathering_vfs() {
  static std::once_flag once;
  std::call_once(once, register_vfs);
  return kName;
}

}  // namespace teamreg::storage::sqlite
