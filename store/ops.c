/* store/ops.c - operations on the whole store: checkpoints and manual compaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/internal.h"

ottr_status store_checkpoint(store *s, const char *dir, char *err, size_t errlen)
{
    char dummy[8];
    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (dir == NULL || dir[0] == '\0') {
        snprintf(err, errlen, "no checkpoint directory given");
        return OTTR_ERR_INVALID;
    }
    struct stat st;
    if (stat(dir, &st) == 0 || errno != ENOENT) {
        snprintf(err, errlen, "checkpoint directory %s already exists", dir);
        return OTTR_ERR_INVALID;
    }
    char *e = NULL;
    rocksdb_checkpoint_t *cp = rocksdb_checkpoint_object_create(s->db, &e);
    if (e == NULL) {
        /* 0: always flush the memtables first, so the checkpoint needs no WAL replay. */
        rocksdb_checkpoint_create(cp, dir, 0, &e);
    }
    if (cp)
        rocksdb_checkpoint_object_destroy(cp);
    if (e) {
        snprintf(err, errlen, "checkpoint to %s failed: %s", dir, e);
        free(e);
        return OTTR_ERR_IO;
    }
    /* The undecided requests too, so that the copy starts like the original. */
    char pdir[4200];
    snprintf(pdir, sizeof(pdir), "%s/pending", dir);
    ottr_status pst = store_plog_copy(s, pdir, err, errlen);
    if (pst != OTTR_OK)
        return pst;
    OTTR_INFO(STORE_COMPONENT, "checkpoint written to %s", dir);
    return OTTR_OK;
}

ottr_status store_compact(store *s)
{
    /* Pending records past retention (their traces would expire as soon as
     * kept) go like the expired records of the families. */
    uint32_t cutoff = store_retention_cutoff_sec(s);
    if (cutoff && store_plog_remove_before(s, cutoff) != OTTR_OK)
        return OTTR_ERR_IO;
    for (int i = CF_META; i < CF_COUNT; i++) {
        rocksdb_compact_range_cf(s->db, s->cf[i], NULL, 0, NULL, 0);
        /* Merge operands are summed into a value by the first pass and only a
         * value is seen by the retention filter, in the second. */
        if (i == CF_EDGES)
            rocksdb_compact_range_cf(s->db, s->cf[i], NULL, 0, NULL, 0);
    }
    return OTTR_OK;
}
