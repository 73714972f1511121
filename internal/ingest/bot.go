package ingest

import "strings"

// botMarkers are lowercase substrings of user agents that are not people: search and social
// crawlers, link previewers, monitoring, HTTP libraries and headless or automated browsers.
// Such touchpoints are stored with Bot set, never dropped: attribution skips them, and counting
// them keeps the numbers honest.
var botMarkers = []string{
	"bot", "crawl", "spider", "slurp", "mediapartners", "facebookexternalhit", "facebookcatalog",
	"meta-externalagent", "embedly", "preview", "whatsapp", "telegram", "skypeuripreview",
	"headlesschrome", "phantomjs", "electron/", "puppeteer", "playwright", "selenium", "webdriver",
	"lighthouse", "pagespeed", "gtmetrix", "pingdom", "uptime", "monitor", "curl/", "wget/",
	"python-requests", "python-urllib", "aiohttp", "httpx", "go-http-client", "okhttp", "java/",
	"apache-httpclient", "node-fetch", "axios/", "undici", "libwww-perl", "scrapy", "postman",
	"insomnia", "httpclient",
}

// IsBot reports whether a user agent belongs to a known bot or headless browser. An empty user
// agent counts as a bot: every browser sends one.
func IsBot(userAgent string) bool {
	ua := strings.ToLower(strings.TrimSpace(userAgent))
	if ua == "" {
		return true
	}
	for _, m := range botMarkers {
		if strings.Contains(ua, m) {
			return true
		}
	}
	return false
}
