/*
 * A complete C host of vbt: a sender node serves a partition from its base directory, a receiver
 * node bootstraps it into another directory, and the main thread waits for the completion on a
 * condition variable.
 *
 *   example SENDER_BASE_DIR STORE RECEIVER_BASE_DIR
 *
 * SENDER_BASE_DIR holds partition 0 of version 1 of STORE in Venice's layout, e.g. made by
 * `vbt gen --base-dir D --store S --version 1 --partition 0 --size-mib 4`. Exits 0 only if the
 * partition arrived, verified, and its files on disk are exactly the files and bytes reported.
 */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vbt.h"

/* What the completion callback hands to the main thread (copied: the result is only lent). */
struct completion {
    pthread_mutex_t lock;
    pthread_cond_t done_cv;
    int done;
    vbt_result code;
    char message[1024];
    char peer[256];
    char partition_dir[4096];
    uint64_t files;
    uint64_t bytes;
    uint64_t resumed_bytes;
    size_t streams;
    double seconds;
    size_t offset_record_len;
    unsigned char offset_record_magic;
    size_t store_version_state_len;
    /* Progress reports seen (on the same callback thread, all before the completion). */
    unsigned reports;
};

static void copy_string(char *dst, size_t cap, const char *src) {
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Runs once, on vbt's callback thread. */
static void on_bootstrapped(void *user_data, const vbt_bootstrap_result *result) {
    struct completion *c = user_data;
    vbt_byte_slice offset_record = vbt_bootstrap_result_offset_record(result);
    pthread_mutex_lock(&c->lock);
    c->code = vbt_bootstrap_result_code(result);
    copy_string(c->message, sizeof c->message, vbt_bootstrap_result_message(result));
    copy_string(c->peer, sizeof c->peer, vbt_bootstrap_result_peer(result));
    copy_string(c->partition_dir, sizeof c->partition_dir, vbt_bootstrap_result_partition_dir(result));
    c->files = vbt_bootstrap_result_files(result);
    c->bytes = vbt_bootstrap_result_bytes(result);
    c->resumed_bytes = vbt_bootstrap_result_resumed_bytes(result);
    c->streams = vbt_bootstrap_result_streams(result);
    c->seconds = vbt_bootstrap_result_seconds(result);
    c->offset_record_len = offset_record.len;
    c->offset_record_magic = offset_record.len > 0 ? offset_record.data[0] : 0;
    c->store_version_state_len = vbt_bootstrap_result_store_version_state(result).len;
    c->done = 1;
    pthread_cond_signal(&c->done_cv);
    pthread_mutex_unlock(&c->lock);
}

/* Runs on vbt's callback thread a few times a second while data arrives, and once more
   (is_final) just before the completion. A total is -1 when the peer did not announce it. */
static void on_progress(void *user_data, const vbt_progress *p) {
    struct completion *c = user_data;
    pthread_mutex_lock(&c->lock);
    c->reports++;
    pthread_mutex_unlock(&c->lock);
    if (p->bytes_total > 0) {
        printf("  progress from %s: %llu/%lld files, %llu/%lld bytes (%.0f%%)%s\n", p->peer,
               (unsigned long long)p->files_done, (long long)p->files_total, (unsigned long long)p->bytes_done,
               (long long)p->bytes_total, 100.0 * (double)p->bytes_done / (double)p->bytes_total,
               p->is_final ? ", done" : "");
    } else {
        printf("  progress from %s: %llu files, %llu bytes%s\n", p->peer, (unsigned long long)p->files_done,
               (unsigned long long)p->bytes_done, p->is_final ? ", done" : "");
    }
}

/* Prints the failed call with vbt's own explanation, and says so. */
static int failed(const char *what, vbt_result rc) {
    fprintf(stderr, "example: %s: %s: %s\n", what, vbt_result_name(rc), vbt_last_error_message());
    return 0;
}

#define TRY(call)                          \
    do {                                   \
        vbt_result rc_ = (call);           \
        if (rc_ != VBT_OK) {               \
            ok = failed(#call, rc_);       \
            goto done;                     \
        }                                  \
    } while (0)

/* Sum of the sizes of the regular files directly in `dir`, and their number. */
static int sum_files(const char *dir, uint64_t *bytes, uint64_t *files) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[8192];
    struct stat st;
    if (!d) {
        fprintf(stderr, "example: cannot open %s: %s\n", dir, strerror(errno));
        return 0;
    }
    *bytes = 0;
    *files = 0;
    while ((e = readdir(d)) != NULL) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            *bytes += (uint64_t)st.st_size;
            *files += 1;
        }
    }
    closedir(d);
    return 1;
}

int main(int argc, char **argv) {
    vbt_config *sender_config = NULL, *receiver_config = NULL;
    vbt_node *sender = NULL, *receiver = NULL;
    vbt_bootstrap_request *request = NULL;
    struct completion c;
    char peer[64];
    uint16_t port = 0;
    uint64_t op_id = 0, disk_bytes = 0, disk_files = 0;
    struct timespec deadline;
    int ok = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: %s SENDER_BASE_DIR STORE RECEIVER_BASE_DIR\n", argv[0]);
        return 2;
    }
    memset(&c, 0, sizeof c);
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.done_cv, NULL);
    printf("vbt %s C example\n", vbt_version());

    /* The sender serves every partition under its base directory, on a free port. */
    TRY(vbt_config_new(&sender_config));
    TRY(vbt_config_set(sender_config, "vbt.base.dir", argv[1]));
    TRY(vbt_config_set(sender_config, "davinci.p2p.blob.transfer.server.port", "0"));
    TRY(vbt_config_set(sender_config, "vbt.server.bind.address", "127.0.0.1"));
    TRY(vbt_node_new(sender_config, &sender));
    TRY(vbt_node_start_server(sender, &port));
    printf("sender listening on 127.0.0.1:%u\n", (unsigned)port);

    /* The receiver installs into its own base directory; RocksDB opens the result to prove it. */
    TRY(vbt_config_new(&receiver_config));
    TRY(vbt_config_set_properties(receiver_config,
                                  "# Venice-style properties\n"
                                  "blob.receive.max.timeout.in.min = 5\n"
                                  "vbt.receive.verify.rocksdb = true\n"));
    TRY(vbt_config_set(receiver_config, "vbt.base.dir", argv[3]));
    TRY(vbt_node_new(receiver_config, &receiver));

    snprintf(peer, sizeof peer, "127.0.0.1:%u", (unsigned)port);
    TRY(vbt_bootstrap_request_new(argv[2], 1, 0, &request));
    TRY(vbt_bootstrap_request_add_peer(request, peer));
    TRY(vbt_bootstrap_request_set_progress(request, on_progress, &c));
    TRY(vbt_node_bootstrap_partition(receiver, request, on_bootstrapped, &c, &op_id));
    printf("bootstrap %llu of %s_v1-0 from %s started\n", (unsigned long long)op_id, argv[2], peer);

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 120;
    pthread_mutex_lock(&c.lock);
    while (!c.done) {
        if (pthread_cond_timedwait(&c.done_cv, &c.lock, &deadline) == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&c.lock);
    if (!c.done) {
        fprintf(stderr, "example: no completion within 120 s\n");
        ok = 0;
        goto done;
    }
    if (c.code != VBT_OK) {
        fprintf(stderr, "example: bootstrap failed: %s: %s\n", vbt_result_name((uint32_t)c.code), c.message);
        ok = 0;
        goto done;
    }
    if (c.reports == 0) {
        fprintf(stderr, "example: no progress report before the completion\n");
        ok = 0;
        goto done;
    }
    printf("bootstrapped from %s: %llu files, %llu bytes (%llu more kept from an earlier attempt) over %zu "
           "connection(s) in %.3f s; offset record %zu bytes, store-version state %zu bytes\n",
           c.peer, (unsigned long long)c.files, (unsigned long long)c.bytes, (unsigned long long)c.resumed_bytes,
           c.streams, c.seconds, c.offset_record_len, c.store_version_state_len);
    printf("installed in %s\n", c.partition_dir);

    /* The bytes arrived: the installed files are exactly the files and bytes reported, sent or
       kept (the read-only RocksDB check writes nothing), a real partition of several MiB, with
       Venice-framed metadata. */
    if (!sum_files(c.partition_dir, &disk_bytes, &disk_files)) {
        ok = 0;
    } else if (disk_bytes != c.bytes + c.resumed_bytes || disk_files != c.files || c.bytes < 1024 * 1024 ||
               c.files < 3 || c.streams < 1) {
        fprintf(stderr,
                "example: on disk %llu files, %llu bytes; reported %llu files, %llu + %llu bytes, %zu streams\n",
                (unsigned long long)disk_files, (unsigned long long)disk_bytes, (unsigned long long)c.files,
                (unsigned long long)c.bytes, (unsigned long long)c.resumed_bytes, c.streams);
        ok = 0;
    } else if (c.offset_record_len < 2 || c.offset_record_magic != 24 || c.store_version_state_len < 2) {
        fprintf(stderr, "example: metadata missing or not Venice-framed\n");
        ok = 0;
    }

done:
    vbt_bootstrap_request_free(request);
    vbt_node_free(receiver);
    vbt_node_free(sender);
    vbt_config_free(receiver_config);
    vbt_config_free(sender_config);
    pthread_cond_destroy(&c.done_cv);
    pthread_mutex_destroy(&c.lock);
    printf("%s\n", ok ? "example ok" : "example FAILED");
    return ok ? 0 : 1;
}
