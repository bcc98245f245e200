/* bcryptprimitives.dll for wine 8, which lacks ProcessPrng: Go 1.24 and
 * later take all their randomness from it on Windows. It forwards to
 * advapi32's SystemFunction036 (RtlGenRandom), which wine has. Built and
 * installed into the wine prefix by .ci/wine-setup; tests only. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
