# plot.gp - GFLOP/s per case and plugin, clustered bars, as PNG.
# gnuplot -e "datafile='plot.dat'; outfile='gflops.png'; ncols=5; subtitle='...'" plot.gp
# plot.dat (bench/report.py): a header line "case series...", then one line
# per case: "label" value..., with "-" where a series has no value.
# Clustered histograms put the bar of series i (0-based, k series) of case j
# at x = j + (i - (k - 1) / 2) / (k + gap); gap is 1, so k + gap = ncols. The
# value labels use that; their $0 counts the header line, hence $0 - 1.
if (!exists("datafile")) datafile = 'plot.dat'
if (!exists("outfile")) outfile = 'gflops.png'
if (!exists("ncols")) ncols = 4
if (!exists("subtitle")) subtitle = ''
set terminal pngcairo size 1200,650 font ",11" noenhanced
set output outfile
set title "mha bench --suite standard: GFLOP/s per case (higher is better)\n".subtitle
set ylabel "GFLOP/s"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top left
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.08, 0
set xtics nomirror
plot for [i=2:ncols] datafile using i:xtic(1) title columnheader(i), \
     for [i=2:ncols] datafile using ($0 - 1 + (i - 2 - (ncols - 2) / 2.0) / ncols):i:(sprintf("%.1f", column(i))) \
         with labels offset 0,0.6 font ",8" notitle
