package web

import (
	"strconv"
	"strings"
)

// lineChart is an inline SVG of two daily money series (spend and revenue, in one currency),
// drawn on the server like the overview's bar chart.
type lineChart struct {
	Width, Height int
	Spend         string // polyline points "x,y x,y…"
	Revenue       string
	Dots          []lineDot
	Ticks         []chartTick
	Labels        []lineLabel
	Desc          string // the text alternative: every day's two figures
}

type lineDot struct {
	X, SpendY, RevenueY int
	Title               string
}

type lineLabel struct {
	X     int
	Label string
}

// linePoint is one day of the chart: amounts in minor units of the chart's currency.
type linePoint struct {
	Date           string // YYYY-MM-DD
	Spend, Revenue int64
}

func newLineChart(l locale, currency string, pts []linePoint) lineChart {
	const w, h, top, bottom, left, right = 720, 220, 10, 24, 84, 8
	c := lineChart{Width: w, Height: h}
	var most int64
	for _, p := range pts {
		most = max(most, p.Spend, p.Revenue)
	}
	scale := max(most, 1)
	plot := int64(h - top - bottom)
	n := len(pts)
	step := 0
	if n > 1 {
		step = (w - left - right) / (n - 1)
	}
	every := max(1, n/8)
	y := func(v int64) int { return top + int(plot-v*plot/scale) }
	var sp, rv, desc []string
	for i, p := range pts {
		x := left + i*step
		if n == 1 {
			x = (left + w - right) / 2
		}
		sy, ry := y(max(p.Spend, 0)), y(max(p.Revenue, 0))
		sp = append(sp, strconv.Itoa(x)+","+strconv.Itoa(sy))
		rv = append(rv, strconv.Itoa(x)+","+strconv.Itoa(ry))
		t := l.T("camp.chart_day", l.Date(p.Date), l.Money(p.Spend, currency), l.Money(p.Revenue, currency))
		c.Dots = append(c.Dots, lineDot{X: x, SpendY: sy, RevenueY: ry, Title: t})
		desc = append(desc, t)
		if i%every == 0 {
			c.Labels = append(c.Labels, lineLabel{X: x, Label: l.Date(p.Date)})
		}
	}
	c.Spend, c.Revenue, c.Desc = strings.Join(sp, " "), strings.Join(rv, " "), strings.Join(desc, ". ")
	for _, v := range []int64{0, scale / 2, scale} {
		c.Ticks = append(c.Ticks, chartTick{Y: y(v), Label: l.Money(v, currency)})
	}
	return c
}
