package document

import (
	"os"

	"golang.org/x/sys/unix"
)

// writeBehind asks the kernel to start writing f's bytes from start to end to disk, without
// waiting for them; then waits until those from drop to start are on disk and drops them from
// the page cache. An error is a failure to write them.
func writeBehind(f *os.File, drop, start, end int64) error {
	c, err := f.SyscallConn()
	if err != nil {
		return err
	}
	cerr := c.Control(func(fd uintptr) {
		if err = unix.SyncFileRange(int(fd), start, end-start, unix.SYNC_FILE_RANGE_WRITE); err != nil || start == drop {
			return
		}
		const written = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER
		if err = unix.SyncFileRange(int(fd), drop, start-drop, written); err != nil {
			return
		}
		// Only a hint: pages it leaves stay correct.
		_ = unix.Fadvise(int(fd), drop, start-drop, unix.FADV_DONTNEED)
	})
	if cerr != nil {
		return cerr
	}
	return err
}
