/* I/O section of netc_rt.h (see io files). */
