// ThreadSanitizer builds only (DRIFTD_TSAN): librdkafka uses C11 threads,
// which glibc implements below the pthread calls TSan intercepts. So TSan
// never learns of librdkafka's threads (and crashes inside them: a null
// thread state in its allocator), nor of the mutexes and condition
// variables that order them (and reports the handover of every message
// buffer as a race). Defined here, in the executable, these C11 functions
// take precedence over glibc's for librdkafka and call the pthread
// functions TSan intercepts. glibc's mtx_t and cnd_t are a pthread_mutex_t
// and a pthread_cond_t (the same size and layout).
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <ctime>
#include <new>

namespace {

struct Start {
  thrd_start_t func;
  void* arg;
};

void* run(void* p) {
  const Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.func(start.arg)));
}

int from_errno(int rc) {
  return rc == 0           ? thrd_success
         : rc == ENOMEM    ? thrd_nomem
         : rc == EBUSY     ? thrd_busy
         : rc == ETIMEDOUT ? thrd_timedout
                           : thrd_error;
}

pthread_mutex_t* native(mtx_t* m) {
  static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
  return reinterpret_cast<pthread_mutex_t*>(m);
}
pthread_cond_t* native(cnd_t* c) {
  static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));
  return reinterpret_cast<pthread_cond_t*>(c);
}

}  // namespace

extern "C" int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new (std::nothrow) Start{func, arg};
  if (start == nullptr) return thrd_nomem;
  const int rc = pthread_create(thr, nullptr, run, start);
  if (rc != 0) delete start;
  return from_errno(rc);
}

extern "C" int thrd_join(thrd_t thr, int* res) {
  void* out = nullptr;
  const int rc = pthread_join(thr, &out);
  if (rc == 0 && res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(out));
  return from_errno(rc);
}

extern "C" int thrd_detach(thrd_t thr) {
  return from_errno(pthread_detach(thr));
}

extern "C" int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(native(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return from_errno(rc);
}
extern "C" int mtx_lock(mtx_t* m) {
  return from_errno(pthread_mutex_lock(native(m)));
}
extern "C" int mtx_trylock(mtx_t* m) {
  return from_errno(pthread_mutex_trylock(native(m)));
}
extern "C" int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict at) {
  return from_errno(pthread_mutex_timedlock(native(m), at));
}
extern "C" int mtx_unlock(mtx_t* m) {
  return from_errno(pthread_mutex_unlock(native(m)));
}
extern "C" void mtx_destroy(mtx_t* m) {
  pthread_mutex_destroy(native(m));
}

extern "C" int cnd_init(cnd_t* c) {
  return from_errno(pthread_cond_init(native(c), nullptr));
}
extern "C" int cnd_signal(cnd_t* c) {
  return from_errno(pthread_cond_signal(native(c)));
}
extern "C" int cnd_broadcast(cnd_t* c) {
  return from_errno(pthread_cond_broadcast(native(c)));
}
extern "C" int cnd_wait(cnd_t* c, mtx_t* m) {
  return from_errno(pthread_cond_wait(native(c), native(m)));
}
extern "C" int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m,
                             const struct timespec* __restrict at) {
  return from_errno(pthread_cond_timedwait(native(c), native(m), at));
}
extern "C" void cnd_destroy(cnd_t* c) {
  pthread_cond_destroy(native(c));
}
