package demo

import "github.com/dossierkast/dossierkast/internal/org"

// The fixed part of the demo tenant: employers, departments, providers and log-ins. All names are
// invented; e-mail domains of employees use the reserved .example top-level domain (RFC 2606), so
// no message can ever reach a real mailbox.

type departmentSpec struct {
	name, code string
	weight     int // relative share of the employer's employees
}

type employerSpec struct {
	name, number string
	products     []string
	inGroup      bool
	domain       string // e-mail domain of its employees
	initialEmail bool   // addresses like j.devries@ rather than jan.devries@
	weight       int    // relative share of all employees
	female       int    // percentage of women among its employees
	departments  []departmentSpec
}

// groupName is the employer group that holds the employers with inGroup set.
const groupName = "Zorgcombinatie Het Anker"

var employerSpecs = []employerSpec{
	{
		name: "Hoogendijk Bouw B.V.", number: "100452", products: []string{org.ProductFullDossier},
		domain: "hoogendijkbouw.example", initialEmail: true, weight: 45, female: 18,
		departments: []departmentSpec{
			{"Directie", "DIR", 1},
			{"Projectbureau", "PRJ", 4},
			{"Uitvoering", "UTV", 12},
			{"Timmerwerkplaats", "TWP", 4},
			{"Materieeldienst", "MAT", 2},
			{"Inkoop", "INK", 1},
			{"Financiën en administratie", "FIN", 2},
			{"HR en salarisadministratie", "HRS", 1},
		},
	},
	{
		name: "Zorggroep Het Anker", number: "100871", inGroup: true,
		domain: "zorggroephetanker.example", weight: 35, female: 82,
		departments: []departmentSpec{
			{"Verpleegafdeling De Haven", "VDH", 8},
			{"Verpleegafdeling De Kade", "VDK", 7},
			{"Dagbesteding", "DAG", 3},
			{"Facilitaire dienst", "FAC", 3},
			{"Keuken en restaurant", "KEU", 2},
			{"Planning en administratie", "ADM", 2},
		},
	},
	{
		name: "Wijkverpleging Rivierenland", number: "101236", inGroup: true,
		domain: "wijkverplegingrivierenland.example", weight: 20, female: 88,
		departments: []departmentSpec{
			{"Wijkteam Noord", "WTN", 4},
			{"Wijkteam Zuid", "WTZ", 4},
			{"Wijkteam Oost", "WTO", 3},
			{"Kantoor", "KAN", 1},
		},
	},
}

// providerNames are the intervention providers; the coach log-in belongs to the first.
var providerNames = []string{"Vitaal Verder Coaching", "Balans & Beweging Re-integratie"}

// cohort holds the first names popular in the years a person was born in, so that a 60-year-old
// is called Gerard and a 25-year-old Daan.
type cohort struct {
	fromYear      int // born in this year or later (up to the next cohort)
	weightPercent int // share of all employees
	male, female  []string
}

var cohorts = []cohort{
	{
		fromYear: 1960, weightPercent: 30,
		male: []string{"Jan", "Peter", "Hans", "Kees", "Gerard", "Henk", "Johan", "Wim", "Rob", "Frank",
			"Marcel", "Ron", "René", "Paul", "Erik", "Ad", "Theo", "Cor", "Jos", "Arie", "Ruud", "Harry",
			"Piet", "Willem", "Martin", "Edwin", "Richard", "Ahmed", "Mustafa", "Hendrik"},
		female: []string{"Maria", "Anja", "Ingrid", "Monique", "Petra", "Marja", "Ria", "Annemarie",
			"Yvonne", "Karin", "Wilma", "Marianne", "Els", "Carla", "Diana", "Sandra", "Mirjam", "Gerda",
			"Jolanda", "Astrid", "Ellen", "Marjolein", "Fatma", "Anne-Marie", "Jacqueline", "Hennie"},
	},
	{
		fromYear: 1975, weightPercent: 38,
		male: []string{"Dennis", "Mark", "Jeroen", "Bas", "Sander", "Martijn", "Michiel", "Niels", "Remco",
			"Patrick", "Mohamed", "Vincent", "Ruben", "Thomas", "Joost", "Arjen", "Maarten", "Jan-Willem",
			"Roel", "Tim", "Bart", "Pieter", "Erwin", "Stefan", "Rachid", "Wouter"},
		female: []string{"Linda", "Kim", "Marloes", "Esther", "Wendy", "Femke", "Suzanne", "Ilse", "Sanne",
			"Anouk", "Marieke", "Judith", "Nicole", "Chantal", "Saskia", "Eva", "Laura", "Kirsten",
			"Priscilla", "Samira", "Nadia", "Inge", "Lisanne", "Manon", "Daphne"},
	},
	{
		fromYear: 1990, weightPercent: 32,
		male: []string{"Daan", "Sem", "Lucas", "Thijs", "Jesse", "Luuk", "Milan", "Bram", "Stijn", "Tom",
			"Jasper", "Lars", "Mohammed", "Youssef", "Kevin", "Rick", "Max", "Julian", "Koen", "Sven",
			"Mees", "Dylan", "Ayoub", "Gijs", "Jan-Pieter"},
		female: []string{"Emma", "Julia", "Sophie", "Lisa", "Anna", "Fleur", "Lotte", "Iris", "Noa", "Zoë",
			"Demi", "Lieke", "Romy", "Isa", "Amber", "Esmee", "Britt", "Yasmina", "Fenna", "Naomi",
			"Roos", "Maud", "Sara", "Merel", "Chloë"},
	},
}

// plainSurnames are common Dutch family names without a prefix.
var plainSurnames = []string{"Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "Bos", "Vos",
	"Peters", "Hendriks", "Dekker", "Dijkstra", "Smits", "Janssen", "Verhoeven", "Brouwer", "Willems",
	"Kuipers", "Schouten", "Koster", "Prins", "Maas", "Hoekstra", "Bosman", "Huisman", "Kramer",
	"Postma", "Vermeulen", "Jacobs", "Wouters", "Gerritsen", "Kuijpers", "Verbeek", "Groen",
	"Sanders", "Hermans", "Evers", "Timmermans", "Martens", "Koopman", "Scholten", "Mol",
	"Hoogendoorn", "Blom", "Molenaar", "Veenstra", "Kuiper", "Boersma", "Hofman", "Lammers",
	"Driessen", "Nijhuis", "Bouwman", "Smeets", "Aarts", "Peeters", "Claassen", "Verschoor",
	"Yilmaz", "Kaya", "El Idrissi", "Bouzid", "Öztürk", "Pinas", "Nguyen", "Ramdin", "Martina",
	"Şahin", "Benali"}

// prefixedSurnames are family names with their usual prefix (tussenvoegsel); weight is how often
// the prefix occurs among prefixed names.
var prefixedSurnames = []struct {
	prefix string
	weight int
	names  []string
}{
	{"de", 30, []string{"Vries", "Jong", "Boer", "Groot", "Bruijn", "Wit", "Graaf", "Haan", "Lange",
		"Leeuw", "Koning", "Ruiter", "Vos", "Jonge", "Bruin", "Waal", "Zwart", "Kok"}},
	{"van", 22, []string{"Dijk", "Leeuwen", "Beek", "Vliet", "Wijk", "Dam", "Rijn", "Doorn", "Os",
		"Gelder", "Es", "Loon", "Rooij", "Kempen", "Zanten"}},
	{"van der", 16, []string{"Meer", "Linden", "Heijden", "Veen", "Wal", "Laan", "Ploeg", "Zee", "Horst",
		"Schaaf", "Steen", "Molen"}},
	{"van den", 14, []string{"Berg", "Broek", "Heuvel", "Bosch", "Brink", "Hoek", "Akker", "Bergh",
		"Eijnden", "Oever"}},
	{"van de", 10, []string{"Ven", "Kamp", "Pol", "Water", "Velde", "Wetering", "Sande", "Graaf"}},
	{"ter", 3, []string{"Horst", "Haar", "Beek"}},
	{"ten", 3, []string{"Have", "Brink", "Cate"}},
	{"van 't", 1, []string{"Hof", "Veer"}},
	{"in 't", 1, []string{"Veld"}},
}

// streets are among the most common Dutch street names.
var streets = []string{"Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenstraat", "Molenweg",
	"Stationsweg", "Stationsstraat", "Nieuwstraat", "Julianastraat", "Wilhelminastraat",
	"Beatrixstraat", "Emmastraat", "Oranjestraat", "Prins Bernhardlaan", "Prinses Margrietstraat",
	"Hoofdstraat", "Marktstraat", "Eikenlaan", "Lindelaan", "Beukenlaan", "Kastanjelaan",
	"Berkenlaan", "Populierenlaan", "Esdoornstraat", "Rozenstraat", "Tulpstraat", "Lelieweg",
	"Vondelstraat", "Rembrandtlaan", "Vermeerstraat", "Van Goghstraat", "Mozartlaan",
	"Industrieweg", "Parallelweg", "Sportlaan", "Burgemeester Visserstraat", "Koningin Julianaweg",
	"Noordeinde", "Westeinde", "Oosteinde", "Havenstraat", "Dijkstraat", "Veldweg", "Weidelaan",
	"Akkerstraat", "Meidoornstraat", "Merelstraat", "Lijsterlaan", "Spoorstraat", "Brugstraat",
	"Raadhuisstraat", "Zonnebloemstraat", "Kamperfoeliestraat", "Irisstraat", "Sterrenlaan",
	"Vogelzang", "Het Hoogeland", "Graaf Florislaan", "Jan Steenstraat", "Frans Halsstraat"}

// cities have the range of the four digits of their postal codes, so that an address looks right.
var cities = []struct {
	name     string
	from, to int
	weight   int
}{
	{"Amsterdam", 1011, 1109, 12},
	{"Rotterdam", 3011, 3089, 10},
	{"Den Haag", 2491, 2597, 8},
	{"Utrecht", 3511, 3585, 8},
	{"Eindhoven", 5611, 5658, 4},
	{"Groningen", 9711, 9747, 3},
	{"Tilburg", 5011, 5049, 3},
	{"Almere", 1311, 1363, 3},
	{"Breda", 4811, 4839, 3},
	{"Nijmegen", 6511, 6546, 3},
	{"Haarlem", 2011, 2037, 3},
	{"Arnhem", 6811, 6846, 2},
	{"Amersfoort", 3811, 3829, 2},
	{"'s-Hertogenbosch", 5211, 5249, 2},
	{"Zwolle", 8011, 8043, 2},
	{"Leiden", 2311, 2334, 2},
	{"Apeldoorn", 7311, 7339, 2},
	{"Amstelveen", 1181, 1189, 2},
	{"Gorinchem", 4201, 4208, 2},
	{"Tiel", 4001, 4007, 2},
	{"Culemborg", 4101, 4107, 1},
	{"Dordrecht", 3311, 3329, 1},
	{"Zaandam", 1501, 1509, 1},
	{"Alkmaar", 1811, 1827, 1},
	{"Delft", 2611, 2629, 1},
	{"Leeuwarden", 8911, 8939, 1},
	{"Enschede", 7511, 7548, 1},
	{"Gouda", 2801, 2809, 1},
	{"Hilversum", 1211, 1223, 1},
	{"Purmerend", 1441, 1448, 1},
}

// postalLetters are the letters Dutch postal codes use (F, I, O, Q, U and Y never appear).
const postalLetters = "ABCDEGHJKLMNPRSTVWXZ"
