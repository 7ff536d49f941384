package demo

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// Options say which population Generate writes.
type Options struct {
	// Persons is the exact number of person records written.
	Persons int
	// Seed selects the population: the same Options give byte-identical output, a
	// different seed a different population.
	Seed uint64
	// Now fixes "today" (its date in Europe/Oslo): ages, periods and deaths are
	// relative to it, and nothing in the file lies after it except the end of a
	// period. Import the file at or after Now.
	Now time.Time
}

// Stats count the records written, by type.
type Stats struct {
	Persons, Organizations, Parental, Guardianships, Roles, Fullmakter int
}

// Records returns the number of lines written.
func (s Stats) Records() int {
	return s.Persons + s.Organizations + s.Parental + s.Guardianships + s.Roles + s.Fullmakter
}

// Generate writes a synthetic population of exactly opts.Persons persons to w, with
// their parental responsibilities, guardianships, roles in organisations and
// migrated fullmakter, in the register import format. It works household by
// household and keeps only a bounded amount of state (the birth dates used so far and
// a window of recent adults), so its memory does not grow with the population. It
// returns what it wrote, also when writing fails.
func Generate(w io.Writer, opts Options) (Stats, error) {
	switch {
	case opts.Persons < 0:
		return Stats{}, fmt.Errorf("demo: persons is %d, want 0 or more", opts.Persons)
	case opts.Now.IsZero():
		return Stats{}, errors.New("demo: options have no Now: the population is relative to a fixed date")
	}
	g := &generator{
		rnd:       rand.New(rand.NewPCG(opts.Seed, 0x66756c6c6d616b74)),
		seed:      opts.Seed,
		today:     delegation.Today(opts.Now),
		out:       newLineWriter(w),
		ids:       newIDAllocator(splitmix(opts.Seed)),
		remaining: opts.Persons,
		adults:    newRing(1024),
		verger:    newRing(64),
		orgBase:   generatedOrgBase,
	}
	for g.remaining > 0 {
		if err := g.household(); err != nil {
			return g.stats, err
		}
		g.writeHousehold()
		g.organizations()
		if g.out.err != nil {
			return g.stats, fmt.Errorf("demo: write: %w", g.out.err)
		}
	}
	if err := g.out.flush(); err != nil {
		return g.stats, fmt.Errorf("demo: write: %w", err)
	}
	return g.stats, nil
}

// Organisation numbers: the Enhetsregisteret gives real organisations numbers that
// begin with 8 or 9, so demo organisations get numbers that begin with 31 and never
// name a real one. The cast takes the first hundred bases.
const (
	castOrgBase      = 31000000
	generatedOrgBase = castOrgBase + 100
)

// Fullmakt scopes: the areas and services of the default service catalogue.
var (
	areas    = []string{"health", "tax", "education", "welfare", "family", "housing", "transport", "business"}
	services = []string{
		"helsenorge.journal", "helsenorge.resepter", "skatteetaten.skattemelding", "lanekassen.studiestotte",
		"nav.dagpenger", "nav.sykepenger", "husbanken.bostotte", "vegvesen.forerkort",
	}
)

type sex uint8

const (
	female sex = iota
	male
)

type generator struct {
	rnd       *rand.Rand
	seed      uint64
	today     delegation.Date
	out       *lineWriter
	ids       *idAllocator
	stats     Stats
	remaining int // persons still to write

	// The household being built, written out by writeHousehold.
	persons  []delegation.Person
	parental []delegation.ParentalResponsibility
	guards   []delegation.Guardianship
	grants   []migratedFullmakt
	ages     []int

	adults    *ring // recent living adults of working age: role holders, friends
	verger    *ring // professional guardians (faste verger), each with many wards
	orgBase   int   // the next organisation number base to try
	legacySeq int   // numbers the old system's fullmakt ids
}

// household builds the next household (sometimes two related ones: elderly parents
// and their adult child) within the persons still to write.
func (g *generator) household() error {
	room := g.remaining
	r := g.rnd.IntN(1000)
	switch {
	case r < 150 && room >= 3:
		return g.family(room)
	case r < 205 && room >= 2:
		return g.singleParent(room)
	case r < 240 && room >= 3:
		return g.separated(room)
	case r < 335:
		return g.youngAdults(room)
	case r < 555:
		return g.singleAdult()
	case r < 715 && room >= 2:
		return g.couple(room)
	case r < 924:
		return g.elderly(room)
	case r < 960 && room >= 2:
		return g.elderlyWithFamily(room)
	case r >= 960:
		return g.deceased()
	}
	return g.singleAdult()
}

// family is two parents with joint responsibility for their children, sometimes with
// a grown child still at home (whose responsibility ended at 18, or who has no
// record at all).
func (g *generator) family(room int) error {
	g.childAges(min(g.kidCount(4), room-2))
	young := room-2-len(g.ages) >= 1 && g.chance(0.15)
	if young {
		g.ages = append(g.ages, 18+g.rnd.IntN(8))
	}
	lo, hi := g.parentAgeRange()
	if young && lo > hi { // a 25-year-old and a baby: too far apart for one pair of parents
		g.ages = g.ages[:len(g.ages)-1]
		young = false
		lo, hi = g.parentAgeRange()
	}
	ageA := g.parentAge(lo, hi)
	ageB := clamp(ageA+g.rnd.IntN(11)-4, lo, hi)
	sexA, sexB := female, male
	if g.chance(0.03) {
		sexB = sexA
	}
	surA := g.surname()
	surB := surA
	if g.chance(0.4) {
		surB = g.surname()
	}
	kidSur := surA
	if g.chance(0.3) {
		kidSur = surB
	}
	a, err := g.person(ageA, sexA, surA)
	if err != nil {
		return err
	}
	b, err := g.person(ageB, sexB, surB)
	if err != nil {
		return err
	}
	recordYoung := g.chance(0.5)
	for i, age := range g.ages {
		c, err := g.person(age, g.anySex(), kidSur)
		if err != nil {
			return err
		}
		if young && i == len(g.ages)-1 && !recordYoung {
			continue
		}
		g.fromBirth(a, c, delegation.CustodyJoint)
		g.fromBirth(b, c, delegation.CustodyJoint)
	}
	if young {
		g.studentGrant(len(g.persons)-1, a)
	}
	return nil
}

// studentGrant lets some young adults give a parent a fullmakt, mostly for their
// student finance.
func (g *generator) studentGrant(student, parent int) {
	if g.persons[student].AgeOn(g.today) >= delegation.AgeOfMajority && g.chance(0.05) {
		g.grant(student, g.persons[parent], grantToParent)
	}
}

// singleParent has sole responsibility from the child's birth; the other parent is
// not registered.
func (g *generator) singleParent(room int) error {
	g.childAges(min(g.kidCount(3), room-1))
	lo, hi := g.parentAgeRange()
	s := female
	if g.chance(0.2) {
		s = male
	}
	sur := g.surname()
	p, err := g.person(g.parentAge(lo, hi), s, sur)
	if err != nil {
		return err
	}
	for _, age := range g.ages {
		c, err := g.person(age, g.anySex(), sur)
		if err != nil {
			return err
		}
		g.fromBirth(p, c, delegation.CustodySole)
	}
	return nil
}

// separated is a custody change: usually the parents' joint responsibility ceased
// and one of them has had sole responsibility since; sometimes a mother's sole
// responsibility became joint when the father was registered.
func (g *generator) separated(room int) error {
	g.childAges(min(g.kidCount(3), room-2))
	lo, hi := g.parentAgeRange()
	ageM := g.parentAge(lo, hi)
	ageF := clamp(ageM+g.rnd.IntN(9)-2, lo, hi)
	surM, surF := g.surname(), g.surname()
	m, err := g.person(ageM, female, surM)
	if err != nil {
		return err
	}
	f, err := g.person(ageF, male, surF)
	if err != nil {
		return err
	}
	kidSur := surM
	if g.chance(0.4) {
		kidSur = surF
	}
	first := len(g.persons)
	for _, age := range g.ages {
		if _, err := g.person(age, g.anySex(), kidSur); err != nil {
			return err
		}
	}
	youngest := g.persons[first].BirthDate
	for _, c := range g.persons[first:] {
		if c.BirthDate.After(youngest) {
			youngest = c.BirthDate
		}
	}
	span := daysBetween(youngest, g.today)
	if span < 2 { // born yesterday: nothing has changed yet
		for i := first; i < len(g.persons); i++ {
			g.fromBirth(m, i, delegation.CustodyJoint)
			g.fromBirth(f, i, delegation.CustodyJoint)
		}
		return nil
	}
	change := youngest.AddDays(1 + g.rnd.IntN(span-1)) // after the youngest's birth, not after today
	custodial := m
	if g.chance(0.25) {
		custodial = f
	}
	soleFirst := g.chance(0.3)
	for i := first; i < len(g.persons); i++ {
		child := g.persons[i].ID
		if soleFirst {
			g.parental = append(g.parental,
				delegation.ParentalResponsibility{Parent: g.persons[m].ID, Child: child, Kind: delegation.CustodySole, CeasedAt: change},
				delegation.ParentalResponsibility{Parent: g.persons[m].ID, Child: child, Kind: delegation.CustodyJoint, ValidFrom: change},
				delegation.ParentalResponsibility{Parent: g.persons[f].ID, Child: child, Kind: delegation.CustodyJoint, ValidFrom: change})
			continue
		}
		g.parental = append(g.parental,
			delegation.ParentalResponsibility{Parent: g.persons[m].ID, Child: child, Kind: delegation.CustodyJoint, CeasedAt: change},
			delegation.ParentalResponsibility{Parent: g.persons[f].ID, Child: child, Kind: delegation.CustodyJoint, CeasedAt: change},
			delegation.ParentalResponsibility{Parent: g.persons[custodial].ID, Child: child, Kind: delegation.CustodySole, ValidFrom: change})
	}
	return nil
}

// youngAdults are 18–25 and live alone or as a couple; the register holds no
// responsibility for them.
func (g *generator) youngAdults(room int) error {
	n := 1
	if room >= 2 && g.chance(0.2) {
		n = 2
	}
	for range n {
		if _, err := g.person(18+g.rnd.IntN(8), g.anySex(), g.surname()); err != nil {
			return err
		}
	}
	return nil
}

// singleAdult is 26–66. A few gave a friend a fullmakt in an older system; a few have
// a professional guardian; some are professional guardians.
func (g *generator) singleAdult() error {
	age := 26 + g.rnd.IntN(41)
	if g.chance(0.3) {
		age = 26 + g.rnd.IntN(15) // more in their thirties than sixties
	}
	i, err := g.person(age, g.anySex(), g.surname())
	if err != nil {
		return err
	}
	switch {
	case g.adults.len() > 0 && g.chance(0.01):
		g.grant(i, g.adults.pick(g.rnd), grantFriend)
	case g.verger.len() > 0 && g.chance(0.006):
		g.guardianship(g.verger.pick(g.rnd), g.persons[i])
	}
	return nil
}

// couple is two adults without minors, sometimes with grown children at home; now
// and then one spouse gave the other a fullmakt for tax or housing.
func (g *generator) couple(room int) error {
	g.ages = g.ages[:0]
	if room >= 3 && g.chance(0.3) {
		for range min(1+g.rnd.IntN(2), room-2) {
			g.ages = append(g.ages, 18+g.rnd.IntN(8))
		}
	}
	lo, hi := 26, 36 // before children
	if g.chance(0.6) {
		lo, hi = 48, 66 // after
	}
	if len(g.ages) > 0 {
		lo, hi = g.parentAgeRange()
	}
	ageA := lo + g.rnd.IntN(hi-lo+1)
	if len(g.ages) > 0 {
		ageA = g.parentAge(lo, hi)
	}
	ageB := clamp(ageA+g.rnd.IntN(11)-5, lo, hi)
	sur := g.surname()
	surB := sur
	if g.chance(0.4) {
		surB = g.surname()
	}
	a, err := g.person(ageA, female, sur)
	if err != nil {
		return err
	}
	b, err := g.person(ageB, male, surB)
	if err != nil {
		return err
	}
	record := g.chance(0.5)
	for _, age := range g.ages {
		c, err := g.person(age, g.anySex(), sur)
		if err != nil {
			return err
		}
		if record {
			g.fromBirth(a, c, delegation.CustodyJoint)
			g.fromBirth(b, c, delegation.CustodyJoint)
		}
		g.studentGrant(c, a)
	}
	if g.chance(0.015) {
		grantor, proxy := a, b
		if g.chance(0.5) {
			grantor, proxy = b, a
		}
		g.grant(grantor, g.persons[proxy], grantSpouse)
	}
	return nil
}

// elderly is one person or a couple over 67; in some couples one has died. A few
// have a professional guardian.
func (g *generator) elderly(room int) error {
	sur := g.surname()
	a, err := g.person(g.elderlyAge(), g.anySex(), sur)
	if err != nil {
		return err
	}
	if room >= 2 && g.chance(0.45) {
		b, err := g.person(clamp(g.age(a)+g.rnd.IntN(9)-4, 67, 103), g.anySex(), sur)
		if err != nil {
			return err
		}
		if g.chance(0.2) {
			g.die(b, 60, 10)
		}
	}
	if g.verger.len() > 0 && g.chance(0.035) {
		g.guardianship(g.verger.pick(g.rnd), g.persons[a])
	}
	return nil
}

// elderlyWithFamily is an elderly person (or couple) and their adult child's
// household: the elderly parent gave the child a fullmakt in an older system, or the
// child is their guardian. Some grantors have since died, and the register still
// holds the fullmakt they gave.
func (g *generator) elderlyWithFamily(room int) error {
	sur := g.surname()
	elder, err := g.person(g.elderlyAge(), g.anySex(), sur)
	if err != nil {
		return err
	}
	if room >= 3 && g.chance(0.35) {
		if _, err := g.person(clamp(g.age(elder)+g.rnd.IntN(9)-4, 67, 103), g.anySex(), sur); err != nil {
			return err
		}
	}
	childSur := sur
	if g.chance(0.3) {
		childSur = g.surname()
	}
	child, err := g.person(max(26, g.age(elder)-22-g.rnd.IntN(19)), g.anySex(), childSur)
	if err != nil {
		return err
	}
	if len(g.persons) < room && g.chance(0.5) {
		if _, err := g.person(clamp(g.age(child)+g.rnd.IntN(9)-4, 26, 80), g.anySex(), childSur); err != nil {
			return err
		}
	}
	if g.chance(0.25) {
		g.guardianship(g.persons[child], g.persons[elder])
		return nil
	}
	if g.chance(0.08) {
		g.die(elder, 67, 5)
	}
	g.grant(elder, g.persons[child], grantToChild)
	return nil
}

// deceased is a person who died in the last fifteen years.
func (g *generator) deceased() error {
	i, err := g.person(60+g.rnd.IntN(45), g.anySex(), g.surname())
	if err != nil {
		return err
	}
	g.die(i, 50, 15)
	return nil
}

// person adds a person aged age today and returns their index in the household.
func (g *generator) person(age int, s sex, surname string) (int, error) {
	id, birth, err := g.ids.allocateNear(g.birthForAge(age, g.today), g.today)
	if err != nil {
		return 0, err
	}
	g.persons = append(g.persons, delegation.Person{ID: id, Name: g.givenNames(s, birth.Year) + " " + surname, BirthDate: birth})
	return len(g.persons) - 1, nil
}

// die gives the household's person i a death date within the last years years, when
// they were at least minAge; their birth date (and so their id) stays.
func (g *generator) die(i, minAge, years int) {
	p := &g.persons[i]
	earliest := p.BirthDate.AddYears(minAge)
	if from := g.today.AddYears(-years); from.After(earliest) {
		earliest = from
	}
	if earliest.After(g.today) {
		earliest = g.today
	}
	p.DeathDate = earliest.AddDays(g.rnd.IntN(daysBetween(earliest, g.today) + 1))
}

// fromBirth records parental responsibility of the household's person parent for
// its person child since the child's birth; it ceased on the 18th birthday if that
// has passed.
func (g *generator) fromBirth(parent, child int, kind delegation.CustodyKind) {
	r := delegation.ParentalResponsibility{Parent: g.persons[parent].ID, Child: g.persons[child].ID, Kind: kind}
	if adult := g.persons[child].BirthDate.AddYears(delegation.AgeOfMajority); !adult.After(g.today) {
		r.CeasedAt = adult
	}
	g.parental = append(g.parental, r)
}

// guardianship adds a guardianship for ward, with a scope of economic and/or
// personal matters, from some day in the last twelve years, sometimes time-limited
// and sometimes already ended.
func (g *generator) guardianship(guardian, ward delegation.Person) {
	gs := delegation.Guardianship{Guardian: guardian.ID, Ward: ward.ID}
	switch r := g.rnd.IntN(100); {
	case r < 50:
		gs.Scope = []string{"economic"}
	case r < 85:
		gs.Scope = []string{"economic", "personal"}
	default:
		gs.Scope = []string{"personal"}
	}
	gs.Period = g.period(latestOf(ward.BirthDate.AddYears(18), guardian.BirthDate.AddYears(18), g.today.AddYears(-12)), g.today.AddDays(-1), 0.2)
	g.guards = append(g.guards, gs)
}

type grantKind uint8

const (
	grantToChild  grantKind = iota // an elderly parent to an adult child
	grantToParent                  // a young adult to a parent
	grantSpouse                    // one spouse to the other
	grantFriend                    // to someone outside the household
)

// grant adds a migrated fullmakt from the household's person grantor to proxy.
func (g *generator) grant(grantor int, proxy delegation.Person, kind grantKind) {
	gp := g.persons[grantor]
	f := migratedFullmakt{Grantor: gp.ID, Proxy: proxy.ID, Scope: g.grantScope(kind)}
	switch r := g.rnd.IntN(100); {
	case r < 20:
		f.Actions = []string{"read"}
	case r < 30:
		f.Actions = []string{"read", "submit"}
	}
	latest := g.today.AddDays(-30)
	if !gp.DeathDate.IsZero() {
		latest = gp.DeathDate.AddDays(-30)
	}
	limited := 0.3
	if !gp.DeathDate.IsZero() {
		limited = 0 // given until further notice; the grantor's death ended it
	}
	f.Period = g.period(latestOf(gp.BirthDate.AddYears(18), proxy.BirthDate.AddYears(18), g.today.AddYears(-10)), latest, limited)
	f.MaySubdelegate = g.chance(0.08)
	if g.chance(0.5) {
		g.legacySeq++
		f.SourceID = "demo-" + strconv.FormatUint(g.seed, 16) + "-" + strconv.Itoa(g.legacySeq)
	}
	g.grants = append(g.grants, f)
}

// grantScope picks what a fullmakt covers: mostly areas, sometimes single services.
func (g *generator) grantScope(kind grantKind) []string {
	type weighted struct {
		entry string
		p     float64
	}
	var choices []weighted
	switch {
	case kind == grantToChild && g.chance(0.7):
		choices = []weighted{{"health", 0.75}, {"tax", 0.6}, {"welfare", 0.5}, {"housing", 0.35}, {"transport", 0.1}, {"family", 0.05}}
	case kind == grantToChild:
		choices = []weighted{{"helsenorge.journal", 0.5}, {"helsenorge.resepter", 0.5}, {"skatteetaten.skattemelding", 0.5}, {"husbanken.bostotte", 0.3}, {"nav.sykepenger", 0.05}}
	case kind == grantToParent:
		choices = []weighted{{"lanekassen.studiestotte", 0.8}, {"education", 0.3}, {"vegvesen.forerkort", 0.1}, {"health", 0.1}}
	case kind == grantSpouse:
		choices = []weighted{{"tax", 0.5}, {"housing", 0.4}, {"family", 0.3}, {"health", 0.2}, {"skatteetaten.skattemelding", 0.2}, {"husbanken.bostotte", 0.1}}
	default:
		all := areas
		if g.chance(0.5) {
			all = services
		}
		return []string{all[g.rnd.IntN(len(all))]}
	}
	var scope []string
	for _, c := range choices {
		if g.chance(c.p) {
			scope = append(scope, c.entry)
		}
	}
	if len(scope) == 0 {
		scope = append(scope, choices[0].entry)
	}
	return scope
}

// period returns a period starting between earliest and latest (open at the start
// when they do not allow one), which with probability limited ends: usually in the
// next years, sometimes already.
func (g *generator) period(earliest, latest delegation.Date, limited float64) delegation.Period {
	var p delegation.Period
	if !latest.Before(earliest) {
		p.From = earliest.AddDays(g.rnd.IntN(daysBetween(earliest, latest) + 1))
	}
	if !g.chance(limited) {
		return p
	}
	if !p.From.IsZero() && g.chance(0.2) {
		if span := daysBetween(p.From, g.today); span > 1 {
			p.To = p.From.AddDays(1 + g.rnd.IntN(span-1)) // ended before today
			return p
		}
	}
	p.To = g.today.AddDays(30 + g.rnd.IntN(4*365))
	return p
}

// writeHousehold writes the household's persons, then its relations, and offers its
// living adults to later households as role holders, friends and guardians.
func (g *generator) writeHousehold() {
	confidential := g.chance(0.005)
	for i := range g.persons {
		p := &g.persons[i]
		p.ConfidentialAddress = confidential
		g.out.person(*p)
		if confidential || !p.DeathDate.IsZero() {
			continue
		}
		switch age := p.AgeOn(g.today); {
		case age >= 30 && age <= 65 && (g.verger.len() == 0 || g.chance(0.002)):
			g.verger.add(*p)
			g.adults.add(*p)
		case age >= 25 && age <= 75:
			g.adults.add(*p)
		}
	}
	for _, r := range g.parental {
		g.out.parental(r)
	}
	for _, r := range g.guards {
		g.out.guardianship(r)
	}
	for _, r := range g.grants {
		g.out.fullmakt(r)
	}
	g.stats.Persons += len(g.persons)
	g.stats.Parental += len(g.parental)
	g.stats.Guardianships += len(g.guards)
	g.stats.Fullmakter += len(g.grants)
	g.remaining -= len(g.persons)
	g.persons, g.parental, g.guards, g.grants = g.persons[:0], g.parental[:0], g.guards[:0], g.grants[:0]
}

// organizations writes organisations until there is one for every twenty persons
// written, each with a CEO and a chair (in small companies the same person), often
// board members and sometimes a signatory, all among recent adults.
func (g *generator) organizations() {
	for g.stats.Organizations < g.stats.Persons/20 && g.adults.len() >= 8 {
		var id delegation.PartyID
		for ok := false; !ok; g.orgBase++ {
			id, ok = delegation.OrganizationNumber(g.orgBase)
		}
		g.out.organization(delegation.Organization{ID: id, Name: g.orgName()})
		g.stats.Organizations++
		ceo := g.adults.pick(g.rnd)
		chair := ceo
		if g.chance(0.75) {
			chair = g.adults.pickOther(g.rnd, ceo.ID)
		}
		g.role(ceo, id, "ceo")
		g.role(chair, id, "chair")
		if g.chance(0.45) {
			seen := []delegation.PartyID{ceo.ID, chair.ID}
			for range 1 + g.rnd.IntN(3) {
				m := g.adults.pickOther(g.rnd, seen...)
				seen = append(seen, m.ID)
				g.role(m, id, "board_member")
			}
		}
		if g.chance(0.2) {
			g.role(chair, id, "signatory")
		}
	}
}

func (g *generator) role(p delegation.Person, org delegation.PartyID, role string) {
	g.out.role(delegation.Role{Person: p.ID, Organization: org, Role: role})
	g.stats.Roles++
}

func (g *generator) orgName() string {
	first := orgFirstWords[g.rnd.IntN(len(orgFirstWords))]
	if g.chance(0.35) {
		first = surnames[g.rnd.IntN(len(surnames))]
	}
	return first + " " + orgTrades[g.rnd.IntN(len(orgTrades))] + " " + orgForms[g.rnd.IntN(len(orgForms))]
}

// kidCount returns how many children a family has, 1 to most.
func (g *generator) kidCount(most int) int {
	var n int
	switch r := g.rnd.IntN(100); {
	case r < 35:
		n = 1
	case r < 75:
		n = 2
	case r < 95:
		n = 3
	default:
		n = 4
	}
	return min(n, most)
}

// childAges fills g.ages with n ages, each uniform in 0–17, so that children of every
// age are equally common.
func (g *generator) childAges(n int) {
	g.ages = g.ages[:0]
	for range n {
		g.ages = append(g.ages, g.rnd.IntN(18))
	}
}

// parentAgeRange returns the ages a parent of the children in g.ages may have: 20 to
// 43 years older than each (so the birth dates lie 19 to 44 years apart, whatever
// the days), and 20 to 66 years old.
func (g *generator) parentAgeRange() (lo, hi int) {
	oldest, youngest := 0, 17
	if len(g.ages) > 0 {
		oldest, youngest = g.ages[0], g.ages[0]
		for _, a := range g.ages[1:] {
			oldest, youngest = max(oldest, a), min(youngest, a)
		}
	}
	lo, hi = max(oldest+20, 20), min(youngest+43, 66)
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// elderlyBands are the five-year age bands from 67, weighted as Norway's population
// over 67 is (about 170,000 aged 67–69, 1,000 over 100).
var elderlyBands = []struct{ from, to, weight int }{
	{67, 69, 170}, {70, 74, 250}, {75, 79, 220}, {80, 84, 140}, {85, 89, 75}, {90, 94, 33}, {95, 99, 9}, {100, 103, 1},
}

// elderlyAge is 67–103, distributed as in elderlyBands.
func (g *generator) elderlyAge() int {
	r := g.rnd.IntN(898)
	for _, b := range elderlyBands {
		if r < b.weight {
			return b.from + g.rnd.IntN(b.to-b.from+1)
		}
		r -= b.weight
	}
	return 67
}

// parentAge returns the age of a parent of the children in g.ages: mostly 23–36 at
// the eldest child's birth, within lo–hi (see parentAgeRange).
func (g *generator) parentAge(lo, hi int) int {
	oldest := 0
	for _, a := range g.ages {
		oldest = max(oldest, a)
	}
	return clamp(oldest+23+g.rnd.IntN(14), lo, hi)
}

func (g *generator) age(i int) int { return g.persons[i].AgeOn(g.today) }

func (g *generator) chance(p float64) bool { return g.rnd.Float64() < p }

func (g *generator) anySex() sex { return sex(g.rnd.IntN(2)) }

func (g *generator) surname() string { return surnames[g.rnd.IntN(len(surnames))] }

// givenNames returns one given name, sometimes two, of the names common for the
// person's sex and generation.
func (g *generator) givenNames(s sex, born int) string {
	var names []string
	switch {
	case s == female && born < 1975:
		names = femaleOlder
	case s == female:
		names = femaleYounger
	case born < 1975:
		names = maleOlder
	default:
		names = maleYounger
	}
	first := names[g.rnd.IntN(len(names))]
	if g.chance(0.1) {
		if second := names[g.rnd.IntN(len(names))]; second != first {
			return first + " " + second
		}
	}
	return first
}

// birthForAge returns a birth date of someone aged age on day, spread over the year.
func (g *generator) birthForAge(age int, day delegation.Date) delegation.Date {
	return birthAged(age, day, g.rnd.IntN(365))
}

// birthAged returns the birth date of someone who is age on day and whose birthday
// was back days before day (0–364), corrected on the rare dates where the calendar
// does not allow it (29 February).
func birthAged(age int, day delegation.Date, back int) delegation.Date {
	b := day.AddYears(-age).AddDays(-back)
	for delegation.AgeOn(b, day) > age {
		b = b.AddDays(1)
	}
	for delegation.AgeOn(b, day) < age {
		b = b.AddDays(-1)
	}
	return b
}

func daysBetween(a, b delegation.Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 12, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 12, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta).Round(24*time.Hour) / (24 * time.Hour))
}

func latestOf(d delegation.Date, more ...delegation.Date) delegation.Date {
	for _, e := range more {
		if e.After(d) {
			d = e
		}
	}
	return d
}

func clamp(v, lo, hi int) int { return min(max(v, lo), hi) }

// ring keeps the most recent persons offered to it, up to its capacity.
type ring struct {
	items []delegation.Person
	next  int
}

func newRing(capacity int) *ring { return &ring{items: make([]delegation.Person, 0, capacity)} }

func (r *ring) len() int { return len(r.items) }

func (r *ring) add(p delegation.Person) {
	if len(r.items) < cap(r.items) {
		r.items = append(r.items, p)
		return
	}
	r.items[r.next] = p
	r.next = (r.next + 1) % len(r.items)
}

func (r *ring) pick(rnd *rand.Rand) delegation.Person { return r.items[rnd.IntN(len(r.items))] }

// pickOther picks someone not among not; the caller makes sure the ring holds more
// persons than not names.
func (r *ring) pickOther(rnd *rand.Rand, not ...delegation.PartyID) delegation.Person {
	for {
		p := r.pick(rnd)
		if !slices.Contains(not, p.ID) {
			return p
		}
	}
}
