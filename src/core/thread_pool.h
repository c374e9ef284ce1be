// The pool is public (include/pangu/thread_pool.h): a program that opens a Session passes one in.
#pragma once

#include "pangu/thread_pool.h"
