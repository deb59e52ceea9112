/*
 * CQ_UNITTEST marks a file-static function that the unit tests call: it is
 * static in the real library and external in the test build (-DCQ_UNITTESTS),
 * where its module header declares it.
 */
#ifndef CQ_UNITTEST_H
#define CQ_UNITTEST_H

#ifdef CQ_UNITTESTS
#define CQ_UNITTEST
#else
#define CQ_UNITTEST static
#endif

#endif
