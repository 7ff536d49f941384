package registers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// MaxLineLength is the longest line Import reads, without its line ending. A longer
// line is reported as a bad line and skipped.
const MaxLineLength = 1 << 20

// DefaultBatchSize is the number of records per transaction when Options.BatchSize is
// not set.
const DefaultBatchSize = 10000

// Options configure Import. The zero value imports in batches, with time.Now.
// Progress and OnError are called from the goroutine that called Import.
type Options struct {
	Name string // file name used in messages ("FILE:LINE: message"); default "input"
	// Strict is all-or-nothing: the whole input in one transaction, rolled back if any
	// line fails. The store holds that transaction in memory until it ends, and bbolt
	// slows down with its size (100,000 new persons take about 10 s, 200,000 about
	// 50 s): it suits corrections and small feeds, not a whole population.
	Strict    bool
	BatchSize int // records per transaction when not strict; default DefaultBatchSize
	IDs       delegation.IDRules
	// Now is the clock (default time.Now): "today" for validation is
	// delegation.Today(Now()) at the start, and progress is timed by it.
	Now      func() time.Time
	Size     int64           // bytes in the input when known (for the ETA); 0 = unknown
	Progress func(Progress)  // called about once a second and once at the end; nil = none
	OnError  func(LineError) // called for every bad line as it is found; nil = ignore
}

// LineError is a bad line: its number (from 1, blank lines included) and what is
// wrong with it.
type LineError struct {
	Name string
	Line int
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Name, e.Line, e.Err) }

func (e LineError) Unwrap() error { return e.Err }

// Summary counts what an import did. Records = Changed + Unchanged + Failed, except
// after an error or a strict rejection: Changed and Unchanged count only what was
// committed.
type Summary struct {
	Lines     int64 // lines read, blank ones included
	Records   int64 // records read: lines that are not blank
	Changed   int64 // records stored because they were new or different
	Unchanged int64 // records already stored as they are
	Failed    int64 // bad lines
	Elapsed   time.Duration
}

// Updater runs register writes; delegation.Store is one.
type Updater interface {
	// UpdateRegister calls fn once in one write transaction, which commits when fn
	// returns nil and rolls back when it returns an error.
	UpdateRegister(ctx context.Context, fn func(delegation.RegisterTx) error) error
}

// ErrRejected is returned, wrapped, by a strict import that had bad lines.
var ErrRejected = errors.New("registers: strict import rejected")

// Import reads a register feed from r, one JSON object per line (see ParseLine), and
// applies each record with delegation.ApplyRecord, which stores it unless it is
// already stored as it is: importing the same feed twice changes nothing.
//
// A bad line is reported to opts.OnError and counted in Summary.Failed. Without
// opts.Strict the good lines are stored all the same, in transactions of
// opts.BatchSize records, and the error is nil. With opts.Strict the whole input is
// one transaction, and any bad line rolls it back: Import reports every bad line and
// returns an error wrapping ErrRejected.
//
// The error is otherwise for what stops the import: reading r, the store, or ctx,
// which is checked between batches. Batches committed before stay committed.
func Import(ctx context.Context, store Updater, r io.Reader, opts Options) (Summary, error) {
	if opts.Name == "" {
		opts.Name = "input"
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	start := opts.Now()
	imp := &importer{opts: opts, today: delegation.Today(start), start: start, lastReport: start}
	in := &lineReader{br: bufio.NewReaderSize(r, MaxLineLength+len("\r\n"))}
	stop := make(chan struct{})
	batches := readAhead(in, opts, stop)
	var err error
	if opts.Strict {
		err = imp.strict(ctx, store, batches)
	} else {
		err = imp.batches(ctx, store, batches)
	}
	close(stop)
	for range batches { // wait until the reader has stopped reading r
	}
	imp.sum.Elapsed = opts.Now().Sub(start)
	if opts.Progress != nil {
		opts.Progress(imp.progress(imp.bytes, imp.sum.Elapsed))
	}
	return imp.sum, err
}

type importer struct {
	opts       Options
	today      delegation.Date
	start      time.Time
	lastReport time.Time
	sum        Summary
	bytes      int64 // bytes read up to the end of the last batch applied
}

// batch is the decoded records of up to Options.BatchSize lines.
type batch struct {
	items []item
	lines int   // lines read up to the end of the batch
	bytes int64 // bytes read up to the end of the batch
	err   error // reading failed after the items
}

// item is one non-blank line, decoded.
type item struct {
	line int
	end  int64 // bytes read up to the end of the line
	rec  delegation.Record
	err  error // what is wrong with the line, instead of rec
}

// tally counts the outcome of records applied in a transaction not yet committed.
type tally struct{ changed, unchanged int64 }

func (imp *importer) batches(ctx context.Context, store Updater, batches <-chan batch) error {
	for b := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.err != nil {
			return b.err
		}
		if len(b.items) > 0 {
			var t tally
			if err := store.UpdateRegister(ctx, func(tx delegation.RegisterTx) error { return imp.apply(tx, b.items, &t) }); err != nil {
				return err
			}
			imp.sum.Changed += t.changed
			imp.sum.Unchanged += t.unchanged
		}
		imp.sum.Lines, imp.bytes = int64(b.lines), b.bytes
	}
	return nil
}

func (imp *importer) strict(ctx context.Context, store Updater, batches <-chan batch) error {
	var t tally
	err := store.UpdateRegister(ctx, func(tx delegation.RegisterTx) error {
		for b := range batches {
			if err := ctx.Err(); err != nil {
				return err
			}
			if b.err != nil {
				return b.err
			}
			if err := imp.apply(tx, b.items, &t); err != nil {
				return err
			}
			imp.sum.Lines, imp.bytes = int64(b.lines), b.bytes
		}
		if imp.sum.Failed > 0 {
			return fmt.Errorf("%w: %s of %s records are bad; nothing was stored",
				ErrRejected, group(imp.sum.Failed), group(imp.sum.Records))
		}
		return nil
	})
	if err == nil {
		imp.sum.Changed, imp.sum.Unchanged = t.changed, t.unchanged
	}
	return err
}

// readAhead reads and decodes batches in one goroutine, so that the next batch is
// ready when the transaction of the previous one commits. It stops after the last
// batch, after a read error, or when stop is closed, and then closes the channel.
func readAhead(in *lineReader, opts Options, stop <-chan struct{}) <-chan batch {
	size := opts.BatchSize
	if opts.Strict {
		size = DefaultBatchSize // the unit of work between checks of ctx
	}
	out := make(chan batch)
	go func() {
		defer close(out)
		for {
			b, eof := readBatch(in, size, opts)
			select {
			case out <- b:
			case <-stop:
				return
			}
			if eof || b.err != nil {
				return
			}
		}
	}()
	return out
}

// readBatch reads and decodes up to n records; eof reports the end of the input. A bad
// line is an item; the batch's error is for reading r.
func readBatch(in *lineReader, n int, opts Options) (b batch, eof bool) {
	b.items = make([]item, 0, min(n, 1024))
	for len(b.items) < n && !eof {
		text, err := in.next()
		switch {
		case err == io.EOF:
			eof = true
		case err == errLineTooLong:
			b.items = append(b.items, item{line: in.line, end: in.bytes, err: err})
		case err != nil:
			b.err = fmt.Errorf("registers: read %s: %w", opts.Name, err)
			return b, false
		default:
			if in.line == 1 {
				text = bytes.TrimPrefix(text, []byte("\uFEFF")) // a byte order mark
			}
			if len(bytes.TrimSpace(text)) > 0 {
				rec, err := ParseLine(text, opts.IDs)
				b.items = append(b.items, item{line: in.line, end: in.bytes, rec: rec, err: err})
			}
		}
	}
	b.lines, b.bytes = in.line, in.bytes
	return b, eof
}

// apply applies items in tx. A record the domain refuses is a bad line; any other
// error comes from the store and is returned, which rolls tx back.
func (imp *importer) apply(tx delegation.RegisterTx, items []item, t *tally) error {
	for _, it := range items {
		imp.sum.Records++
		err := it.err
		if err == nil {
			var changed bool
			changed, err = delegation.ApplyRecord(tx, it.rec, imp.today)
			switch {
			case err != nil && !refused(err):
				return err
			case err != nil:
				err = &recordError{typ: it.rec.RecordType(), err: err}
			case changed:
				t.changed++
			default:
				t.unchanged++
			}
		}
		if err != nil {
			imp.sum.Failed++
			if imp.opts.OnError != nil {
				imp.opts.OnError(LineError{Name: imp.opts.Name, Line: it.line, Err: err})
			}
		}
		imp.tick(it.end)
	}
	return nil
}

// refused reports whether err is the domain refusing a record, rather than the store
// failing.
func refused(err error) bool {
	return errors.Is(err, delegation.ErrInvalid) || errors.Is(err, delegation.ErrConflict) ||
		errors.Is(err, delegation.ErrNotFound) || errors.Is(err, delegation.ErrForbidden)
}

// tick reports progress when a second has passed since the last report.
func (imp *importer) tick(bytesRead int64) {
	if imp.opts.Progress == nil {
		return
	}
	now := imp.opts.Now()
	if now.Sub(imp.lastReport) < time.Second {
		return
	}
	imp.lastReport = now
	imp.opts.Progress(imp.progress(bytesRead, now.Sub(imp.start)))
}

func (imp *importer) progress(bytesRead int64, elapsed time.Duration) Progress {
	return Progress{Records: imp.sum.Records, Bytes: bytesRead, Size: imp.opts.Size, Elapsed: elapsed}
}

// errLineTooLong is the item error of a line longer than MaxLineLength.
var errLineTooLong = &recordError{err: errors.New("the line is longer than 1 MiB")}

// lineReader reads lines in the fixed buffer of br, which holds a line of
// MaxLineLength and its line ending.
type lineReader struct {
	br    *bufio.Reader
	line  int   // the number of the last line returned
	bytes int64 // bytes read so far
}

// next returns the next line without its line ending, valid until the following call.
// A line too long for the buffer is skipped and reported as errLineTooLong; the end of
// the input is io.EOF.
func (lr *lineReader) next() ([]byte, error) {
	b, err := lr.br.ReadSlice('\n')
	lr.bytes += int64(len(b))
	tooLong := false
	for err == bufio.ErrBufferFull {
		tooLong = true
		b, err = lr.br.ReadSlice('\n')
		lr.bytes += int64(len(b))
	}
	switch {
	case err == io.EOF && len(b) == 0 && !tooLong:
		return nil, io.EOF
	case err != nil && err != io.EOF:
		return nil, err
	}
	lr.line++
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	if tooLong || len(b) > MaxLineLength {
		return nil, errLineTooLong
	}
	return b, nil
}
