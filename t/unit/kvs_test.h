/*
 * What the C unit tests share.  Each test_*.c program is a list of cases,
 * functions that check with CHECK() or kvs_test_str(), and names them in a
 * kvs_test_suite at its end; the one main() in kvs_test.c runs them in
 * order, prints TAP ("ok N - desc", then the plan "1..N"), and exits 1 when
 * a check failed, 2 when the suite's setup bailed out.
 */

#ifndef KVS_TEST_H
#define KVS_TEST_H

#include <stdio.h>
#include <string.h>

#define CHECK(cond, desc)  kvs_test_ok((cond) != 0, desc)

/* a case of kvs_test_cases[], named as its function is */
#define KVS_TEST_CASE(fn)  { #fn, fn }


typedef struct {
    const char  *name;
    void       (*run)(void);
} kvs_test_case_t;


typedef struct {
    /* 0, or prints "Bail out! <why>" and returns -1: no case runs */
    int                    (*setup)(void);
    /* after the last case, also after a failed one */
    void                   (*cleanup)(void);
    /* ends with { NULL, NULL } */
    const kvs_test_case_t   *cases;
} kvs_test_suite_t;


/* each test program defines it */
extern const kvs_test_suite_t  kvs_test_suite;


void kvs_test_ok(int ok, const char *desc);
void kvs_test_str(const char *got, const char *want, const char *desc);
void kvs_test_skip(const char *desc, const char *why);
/* removes dir and everything in it: nftw()'s 0 or -1 */
int kvs_test_rm_tree(const char *dir);

#endif /* KVS_TEST_H */
