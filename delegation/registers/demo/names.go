package demo

// Name lists for the synthetic population: common Norwegian given names of two
// generations (for people born before 1975 and after) and common
// surnames, including the names of families who came to Norway in the last decades:
// about 280 given names (a tenth of persons get two) and 140 surnames, enough that a
// demo list does not look repetitive. The lists are written for this package, not
// copied from any register.

var femaleOlder = []string{
	"Anne", "Inger", "Kari", "Marit", "Ingrid", "Liv", "Eva", "Berit", "Astrid", "Bjørg",
	"Hilde", "Anna", "Solveig", "Marianne", "Randi", "Ragnhild", "Elisabeth", "Kristin",
	"Bente", "Heidi", "Hanne", "Gerd", "Tone", "Gunn", "Torill", "Wenche", "Grete", "Turid",
	"Sissel", "Unni", "Aud", "Else", "Reidun", "Laila", "Eli", "Karin", "Sigrid", "Margit",
	"Mona", "Jorunn", "Elin", "Gro", "Trine", "Kjersti", "Mette", "Hege", "Vigdis", "Torunn",
	"Synnøve", "Åse", "Brit", "Ellen", "Ruth", "Jenny", "Ingeborg", "Johanne", "Magnhild",
	"Oddny", "Borghild", "Gunvor", "Kirsten", "Lise", "Merete", "Nina", "Rigmor", "Siri",
	"Tove", "Vibeke", "Agnes", "Dagny",
}

var femaleYounger = []string{
	"Emma", "Nora", "Olivia", "Ella", "Sofie", "Leah", "Frida", "Ingrid", "Sara", "Maja",
	"Emilie", "Astrid", "Sofia", "Selma", "Hedda", "Ida", "Amalie", "Thea", "Vilde", "Julie",
	"Ingeborg", "Tiril", "Mathilde", "Aurora", "Hanna", "Linnea", "Ylva", "Eline", "Oda",
	"Signe", "Live", "Mia", "Alma", "Iben", "Tuva", "Marie", "Anna", "Martine", "Karoline",
	"Sunniva", "Helene", "Jenny", "Malin", "Silje", "Kaja", "Mina", "Agnes", "Solveig",
	"Ronja", "Andrea", "Camilla", "Line", "Lene", "Kristine", "Marte", "Stine", "Maria",
	"Ingvild", "Guro", "Sandra", "Tonje", "Hedvig", "Aisha", "Amira", "Zara", "Lin",
	"Natalia", "Yasmin", "Elise", "Madeleine",
}

var maleOlder = []string{
	"Jan", "Per", "Bjørn", "Ole", "Lars", "Kjell", "Knut", "Arne", "Svein", "Hans", "Geir",
	"Odd", "Terje", "Tor", "Rune", "Trond", "Morten", "Jon", "Erik", "Harald", "Olav",
	"Gunnar", "Rolf", "Leif", "Einar", "Tore", "Egil", "Helge", "Magne", "Steinar", "Øyvind",
	"Dag", "Stein", "Roar", "Frode", "Sverre", "Asbjørn", "Kåre", "Jostein", "Torbjørn", "Ivar",
	"Nils", "Finn", "Arild", "Jens", "Vidar", "Kristian", "Espen", "Anders", "Thor", "Ragnar",
	"Reidar", "Sigurd", "Alf", "Johan", "Oddvar", "Paul", "Petter", "Ragnvald", "Sigmund",
	"Gudmund", "Halvor", "Kolbjørn", "Eivind", "Bård", "Atle", "Haakon", "Audun", "Ketil",
	"Ottar",
}

var maleYounger = []string{
	"Jakob", "Emil", "Noah", "Oliver", "Filip", "William", "Lucas", "Liam", "Henrik", "Oskar",
	"Aksel", "Theodor", "Elias", "Kasper", "Magnus", "Johannes", "Isak", "Mathias", "Tobias",
	"Sander", "Jonas", "Olav", "Leon", "Ludvig", "Even", "Sebastian", "Adrian", "Martin",
	"Mikkel", "Håkon", "Sigurd", "Vetle", "Eirik", "Alexander", "Benjamin", "Markus",
	"Kristoffer", "Herman", "Ulrik", "Storm", "Birk", "Brage", "Odin", "Gustav", "Iver",
	"Edvard", "Peder", "Mateo", "Vilmer", "Thomas", "Andreas", "Fredrik", "Marius", "Kristian",
	"Daniel", "Stian", "Eskil", "Joakim", "Sindre", "Torstein", "Ola", "Erlend", "Amund",
	"Ibrahim", "Yusuf", "Adam", "Omar", "Aleksander", "Jonatan", "Teodor",
}

var surnames = []string{
	"Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Kristiansen",
	"Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen", "Berg", "Haugen", "Hagen",
	"Johannessen", "Andreassen", "Jacobsen", "Dahl", "Jørgensen", "Halvorsen", "Henriksen",
	"Lund", "Sørensen", "Jakobsen", "Moen", "Gundersen", "Iversen", "Strand", "Solberg",
	"Svendsen", "Eide", "Knutsen", "Martinsen", "Paulsen", "Bakken", "Kristoffersen",
	"Mathisen", "Lie", "Amundsen", "Nguyen", "Rasmussen", "Ali", "Lunde", "Solheim", "Berge",
	"Moe", "Nygård", "Bakke", "Kristensen", "Fredriksen", "Holm", "Lien", "Hauge",
	"Christensen", "Andresen", "Nielsen", "Knudsen", "Evensen", "Sæther", "Aas", "Myhre",
	"Hanssen", "Ahmed", "Haugland", "Thomassen", "Sivertsen", "Simonsen", "Danielsen",
	"Berntsen", "Sandvik", "Rønning", "Arnesen", "Antonsen", "Næss", "Vik", "Haug",
	"Ellingsen", "Thorsen", "Edvardsen", "Birkeland", "Isaksen", "Gulbrandsen", "Ruud",
	"Aasen", "Strøm", "Myklebust", "Tangen", "Ødegård", "Eliassen", "Helland", "Bøe",
	"Jenssen", "Aune", "Mikkelsen", "Tveit", "Brekke", "Abrahamsen", "Madsen", "Nordmann",
	"Fjeld", "Kvam", "Lindberg", "Sunde", "Viken", "Grønvold", "Hovland", "Nordby", "Rød",
	"Skog", "Tveten", "Engen", "Løken", "Nyberg", "Bråten", "Sletten", "Hoff", "Rustad",
	"Hussain", "Khan", "Mohamed", "Hassan", "Nowak", "Kowalski", "Tran", "Le", "Pham",
	"Andersson", "Johansson", "Karlsson", "Yilmaz", "Abdi", "Osman", "Wiik", "Vold",
	"Aamodt", "Sandberg", "Haaland", "Kleiven", "Øien",
}

// Organisation names are a place or image, sometimes a surname, and a trade.
var orgFirstWords = []string{
	"Fjord", "Nordlys", "Vestland", "Fjell", "Havbris", "Polar", "Midnattsol", "Bryggen",
	"Lofoten", "Trollheimen", "Glitre", "Hardanger", "Dovre", "Nidaros", "Bjørgvin", "Tromsø",
	"Sandnes", "Viken", "Agder", "Finnmark", "Romsdal", "Jotun", "Saga", "Norrøn", "Skagerrak",
	"Oslofjord", "Stavanger", "Molde", "Bodø", "Ålesund", "Nordkapp", "Sognefjord", "Mjøsa",
	"Telemark", "Valdres", "Helgeland", "Senja", "Lyngen", "Rondane", "Jæren", "Fosen",
	"Østfold", "Gudbrand", "Hallingdal", "Innherred", "Varanger", "Nordmøre", "Salten",
	"Kystlys", "Bølgen", "Fyrlykt", "Granskog", "Bjørka", "Elvebakken", "Sjøsiden", "Nordavind",
}

var orgTrades = []string{
	"Bygg", "Regnskap", "Eiendom", "Rådgivning", "Transport", "Rørlegger", "Elektro", "Maling",
	"Havbruk", "Fisk", "Teknologi", "Data", "Frisør", "Bakeri", "Kafé", "Tannhelse",
	"Legesenter", "Snekkeri", "Landbruk", "Reiseliv", "Media", "Design", "Arkitekter",
	"Advokatfirma", "Eiendomsmegling", "Sport", "Gartneri", "Renhold", "Invest", "Holding",
	"Energi", "Solkraft", "Marine", "Shipping", "Logistikk", "Helse", "Barnehage", "Revisjon",
	"Verksted", "Entreprenør", "Dyreklinikk", "Blomster", "Catering", "Kompetanse", "Software",
}

var orgForms = []string{"AS", "AS", "AS", "AS", "AS", "AS", "AS", "SA", "ANS", "DA"}
