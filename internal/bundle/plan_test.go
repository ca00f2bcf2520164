package bundle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// The planner packs entries in order; an oversized entry gets a part of its own, numbered
// next, and the part being filled goes on after it, so no part closes early and no part is
// added that the sizes do not need. Inside each part the entries keep the bundle's order.
func TestPlannerOversizedKeepsPartOpen(t *testing.T) {
	t.Parallel()
	const partSize = 100 << 10
	cat := uuid.New()
	tests := []struct {
		name  string
		sizes []int64 // in KiB, in the bundle's order
		want  [][]int // per part, the entries' indexes
	}{
		{"OversizedFirst", []int64{500, 20, 20}, [][]int{{1, 2}, {0}}},
		{"OversizedBetween", []int64{15, 500, 15, 15}, [][]int{{0, 2, 3}, {1}}},
		{"FillingGoesOnAfterTwo", []int64{15, 500, 600, 15}, [][]int{{0, 3}, {1}, {2}}},
		{"FullPartThenOversized", []int64{10, 10, 10, 10, 10, 10, 500, 10}, [][]int{{0, 1, 2, 3, 4}, {5, 7}, {6}}},
		{"NoneOversized", []int64{10, 10, 10, 10, 10, 10}, [][]int{{0, 1, 2, 3, 4}, {5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// With a workbook bound of 40 KiB, part 1 has room for two entries of 20 KiB,
			// three of 15 or five of 10 (each with its headers).
			pn := newPlanner(partSize, 40<<10)
			var got [][]int
			for i, kib := range tt.sizes {
				e := &entry{DocumentID: uuid.New(), FileName: "d.pdf", ContentType: "application/pdf", Size: kib << 10,
					CategoryID: cat, CategoryName: "Verzuim"}
				pn.add(e)
				for len(got) < e.Part {
					got = append(got, nil)
				}
				got[e.Part-1] = append(got[e.Part-1], i)
				if e.Alone != (e.Size+archiveOverhead > partSize) {
					t.Errorf("entry %d (%d KiB): Alone = %v", i, kib, e.Alone)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parts (-want +got):\n%s", diff)
			}
			if pn.plan.Parts != len(tt.want) {
				t.Errorf("plan.Parts = %d, want %d", pn.plan.Parts, len(tt.want))
			}
		})
	}
}
