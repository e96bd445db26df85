/* entropy.h — host randomness for entropy devices (getrandom(2)).
 * Any thread; no state. */
#ifndef VMK_BACKENDS_ENTROPY_H
#define VMK_BACKENDS_ENTROPY_H

#include <stddef.h>

/* Fills buf with len random bytes; 0 or a negative errno. */
int vmk_entropy_fill(void *buf, size_t len);

#endif
